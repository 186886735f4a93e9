"""Error pages look like the product, in the reader's language, on a phone too (issue 15 review).

The admin guard's 400 is an admin page (the admin's header, breadcrumbs to the list, the message
naming the parameter, a link back to the same list without it); the project's 400, 403, 404 and
500 templates wear the admin's look under /admin/ (with a link to the administration's home) and
the hosted pages' card elsewhere. The 500 page renders with no request, no context processor,
no database and no URL to reverse. Tests run with DEBUG off, as production does: that is when
Django renders these templates (with DEBUG on it shows its technical pages instead).

The Turkish of the project's own new strings comes with the translation catalogue; here the
English is asserted, and in Turkish the language of the page and the strings Django's catalogues
already translate.
"""

import html
import re
import types
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import path, reverse
from django.utils import translation
from django.views.defaults import server_error

from audiences.models import AudienceKind, Role
from tests.access.conftest import staff_with_grant
from tests.factories import make_audience
from xmplatform.core.admin_guard import UndeclaredParameter

pytestmark = pytest.mark.django_db

VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1'
ADMIN_HEADER = '<header id="header">'
ADMIN_CSS = 'href="/static/admin/css/base.css"'
HOSTED_CSS = 'href="/static/surveys/survey.css"'
HOME_LINK = '<a class="button" id="xm-error-home" href="/admin/">'
STOCK_404 = "The requested resource was not found on this server."


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def custom_admin_view(request: HttpRequest) -> HttpResponse:
    """A view that lets the guard's refusal escape instead of answering it."""
    raise UndeclaredParameter("segment")


# A URLconf with no admin, nothing to reverse: the 500 page and the guard's fallback need none.
BARE_URLS = types.ModuleType("bare_urls")
BARE_URLS.urlpatterns = [  # type: ignore[attr-defined]
    path("boom/", boom),
    path("admin/custom/", custom_admin_view),
]


@pytest.fixture
def audiences(django_user_model) -> dict[str, Any]:  # noqa: ANN001
    root = django_user_model.objects.create_superuser(
        username="xm.root", email="root@example.com", password="correct-horse-battery"
    )
    return {
        "root": root,
        "employees": make_audience("employees", kind=AudienceKind.EMPLOYEE, name="Staff"),
        "customers": make_audience("customers", name="Zebraquartz Clients"),
    }


@pytest.fixture
def hr_analyst(audiences) -> Client:  # noqa: ANN001
    user = staff_with_grant("hr.analyst", audiences["employees"], Role.ANALYST, audiences["root"])
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def in_turkish(client: Client) -> Client:
    """What /i18n/setlang/ stores: the language cookie."""
    client.cookies["django_language"] = "tr"
    return client


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def assert_product_page(body: str, *, lang: str = "en") -> None:
    assert body.lower().startswith("<!doctype html>")
    assert f'<html lang="{lang}" dir="ltr">' in body
    assert VIEWPORT in body
    assert STOCK_404 not in body


# --- The admin guard's 400 -------------------------------------------------------------------


def test_the_guards_400_is_an_admin_page_with_a_way_back_to_the_same_list(hr_analyst):
    response = hr_analyst.get("/admin/surveys/response/?o=1&segment=legal&survey__id__exact=3")
    body = text(response)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert [t.name for t in response.templates][0] == "admin/refused.html"
    assert_product_page(response.content.decode())
    assert ADMIN_HEADER in body
    assert '<div id="site-name"><a href="/admin/">' in body
    assert "<span>xmplatform</span></a></div>" in body
    assert "<title>Filter not available | xmplatform</title>" in body
    assert re.search(
        r'<div class="breadcrumbs">\s*<a href="/admin/">Home</a>\s*'
        r'› <a href="/admin/surveys/">Surveys</a>\s*'
        r'› <a href="/admin/surveys/response/\?o=1&survey__id__exact=3">Responses</a>\s*'
        r"› Filter not available\s*</div>",
        body,
    ), body
    assert "<h1>Filter not available</h1>" in body
    message = "“segment” is not a filter of this list."
    assert f'<p class="errornote" role="alert" id="xm-refused-message">{message}</p>' in body
    assert "This list can be narrowed only with the filters it offers." in body
    back = "/admin/surveys/response/?o=1&survey__id__exact=3"
    assert f'<a class="button" id="xm-refused-back" href="{back}">Back to the list</a>' in body
    assert "legal" not in body


def test_the_way_back_leaves_out_every_refused_parameter_and_keeps_the_others(hr_analyst):
    query = "survey__audience__name=x&p=2&language=en&q=ada&channel=email&o=-1"
    response = hr_analyst.get(f"/admin/surveys/response/?{query}")
    body = text(response)

    assert response.status_code == 400
    # Django's own refusal (a relation lookup no filter declares) and the local lookups no
    # filter takes are refused together; the first is named. The search (answers' words) stays.
    assert "“survey__audience__name” is not a filter of this list." in body
    assert 'id="xm-refused-back" href="/admin/surveys/response/?p=2&q=ada&o=-1"' in body


def test_the_way_back_from_a_popup_stays_a_popup(hr_analyst):
    response = hr_analyst.get(
        "/admin/surveys/response/", {"_popup": "1", "_to_field": "id", "channel": "email"}
    )
    body = text(response)

    assert response.status_code == 400
    assert ADMIN_HEADER not in body  # a popup window has no header, as every admin popup
    assert 'id="xm-refused-back" href="/admin/surveys/response/?_popup=1&_to_field=id"' in body


def test_the_guards_400_does_not_echo_markup(hr_analyst):
    response = hr_analyst.get("/admin/surveys/response/", {'<script>alert("x")</script>': "1"})
    raw = response.content.decode()

    assert response.status_code == 400
    assert "<script>alert(" not in raw
    assert (
        "“&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;” is not a filter of this list." in raw
    )
    assert 'id="xm-refused-back" href="/admin/surveys/response/">' in raw
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_autocompletes_400_leads_home(hr_analyst):
    query = {
        "app_label": "audiences",
        "model_name": "membership",
        "field_name": "audience",
        "term": "",
        "segment": "legal",
    }
    response = hr_analyst.get("/admin/autocomplete/", query)
    body = text(response)

    assert response.status_code == 400
    assert ADMIN_HEADER in body
    assert "“segment” is not a parameter of the autocomplete." in body
    assert "<h1>Parameter not available</h1>" in body
    assert 'id="xm-refused-back" href="/admin/">Home</a>' in body


def test_the_guards_400_is_in_the_readers_language(hr_analyst):
    response = in_turkish(hr_analyst).get("/admin/surveys/response/", {"segment": "legal"})
    body = text(response)

    assert response.status_code == 400
    assert_product_page(response.content.decode(), lang="tr")
    assert "<span>xmplatform</span>" in body  # the workspace's brand, in every language
    assert '<a href="/admin/">Ana sayfa</a>' in body


def test_a_custom_view_that_lets_the_refusal_escape_still_answers_400(hr_analyst):
    with override_settings(ROOT_URLCONF=BARE_URLS):
        response = hr_analyst.get("/admin/custom/", {"segment": "legal"})
    body = text(response)

    assert response.status_code == 400
    assert_product_page(response.content.decode())
    assert ADMIN_HEADER in body
    assert "<h1>Bad request</h1>" in body
    assert HOME_LINK in body  # no admin in this URLconf: the plain /admin/
    assert "legal" not in body


# --- The project's 400, 403, 404, 500 ---------------------------------------------------------


def test_an_audience_the_analyst_cannot_see_is_a_product_404(hr_analyst):
    response = hr_analyst.get("/admin/metrics/customers/")
    body = text(response)

    assert response.status_code == 404
    assert_product_page(response.content.decode())
    assert ADMIN_HEADER in body
    assert ADMIN_CSS in body
    assert "<title>Page not found (404)</title>" in body
    assert "<h1>Page not found</h1>" in body
    assert "This page does not exist, or it is not open to you." in body
    assert "Error 404" in body
    assert HOME_LINK in body
    assert "Zebraquartz" not in body
    assert "customers" not in body  # no echo of the address either
    assert "hr.analyst" not in body  # nothing personal


def test_a_missing_admin_page_is_the_same_404(hr_analyst):
    response = hr_analyst.get("/admin/surveys/no-such-model/")

    assert response.status_code == 404
    assert "This page does not exist, or it is not open to you." in text(response)
    assert HOME_LINK in text(response)


def test_the_404_is_in_the_readers_language_by_cookie_or_browser(hr_analyst):
    by_cookie = in_turkish(hr_analyst).get("/admin/metrics/customers/")
    by_browser = Client(raise_request_exception=False).get(
        "/no-such-page/", HTTP_ACCEPT_LANGUAGE="tr-TR,tr;q=0.9"
    )

    for response in (by_cookie, by_browser):
        assert response.status_code == 404
        assert_product_page(response.content.decode(), lang="tr")
        assert "Sayfa bulunamadı</h1>" in text(response)  # Django's admin catalogue
    assert '<a href="/admin/">Ana sayfa</a>' in text(by_cookie)


def test_a_404_outside_the_admin_is_a_hosted_page_card_without_the_admin():
    response = Client().get("/s/not-a-token/nothing/")
    body = text(response)

    assert response.status_code == 404
    assert_product_page(response.content.decode())
    assert HOSTED_CSS in body
    assert '<section class="card message" aria-labelledby="message-heading">' in body
    assert '<h1 id="message-heading">Page not found</h1>' in body
    assert "The address may be mistyped, or the link may be incomplete or no longer valid." in body
    assert ADMIN_HEADER not in body
    assert "/admin/" not in body


def test_a_page_the_staff_user_may_not_open_is_a_product_403(hr_analyst):
    response = hr_analyst.get("/admin/auth/user/")
    body = text(response)

    assert response.status_code == 403
    assert_product_page(response.content.decode())
    assert ADMIN_HEADER in body
    assert "<h1>Access denied</h1>" in body
    assert "You do not have permission to open this page." in body
    assert HOME_LINK in body


def test_a_bad_request_is_a_product_400():
    response = Client().get("/admin/login/", HTTP_HOST="evil.example")  # DisallowedHost
    body = text(response)

    assert response.status_code == 400
    assert_product_page(response.content.decode())
    assert "<h1>Bad request</h1>" in body
    assert "Error 400" in body
    assert "evil.example" not in body


def test_the_500_page_renders_without_request_database_or_urls(django_assert_num_queries):
    request = RequestFactory().get("/admin/surveys/")
    with (
        translation.override("tr"),
        override_settings(ROOT_URLCONF=BARE_URLS),
        django_assert_num_queries(0),
    ):
        response = server_error(request)
    body = text(response)

    assert response.status_code == 500
    assert_product_page(response.content.decode(), lang="tr")
    assert HOSTED_CSS in body  # no request in its context: the neutral look, wherever it was
    assert "<title>" in body and "(500)</title>" in body
    assert '<a class="button" href="">' in body  # try again: the same address
    assert "/admin/" not in body


def test_a_crash_answers_the_product_500_in_the_readers_language():
    client = Client(raise_request_exception=False)
    with override_settings(ROOT_URLCONF=BARE_URLS):
        english = client.get("/boom/")
        turkish = in_turkish(Client(raise_request_exception=False)).get("/boom/")

    assert english.status_code == turkish.status_code == 500
    assert_product_page(english.content.decode())
    assert '<h1 id="message-heading">Server error</h1>' in text(english)
    assert (
        "Something went wrong on our side. The error has been logged; please try again in a moment."
        in text(english)
    )
    assert "Try again" in text(english)
    assert "a bug" not in text(english)
    assert_product_page(turkish.content.decode(), lang="tr")
    assert "Sunucu hatası" in text(turkish)  # Django's admin catalogue


def test_the_admin_is_where_the_error_pages_look_for_it():
    # errors/page.html tells a staff path by its /admin/ prefix (the 500 page cannot reverse).
    assert reverse("admin:index") == "/admin/"
