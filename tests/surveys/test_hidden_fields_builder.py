"""Hidden fields in the admin without JavaScript: the builder's box and "show when" rows, its
refusals, the public link's signing secret and link builder, and the README's signing code."""

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.urls import reverse

from audiences.models import AudienceKind
from surveys import hidden_fields
from surveys.models import PublicLink, Question, Survey
from tests.factories import make_audience
from tests.surveys.test_admin_builder import NPS_ROW, question_rows, survey_data
from tests.surveys.test_admin_support import PLAIN_STATIC

pytestmark = pytest.mark.django_db
ADD = "/admin/surveys/survey/add/"
STORE_ROW = {
    "key": "store_note",
    "type": "text",
    "required": None,
    "label_en": "Anything about {store}?",
    "label_tr": "{store} hakkında?",
}


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


def _post(audience, hidden: str, **extra):  # noqa: ANN001, ANN003, ANN202
    data = {
        **survey_data(audience, hidden_fields=hidden, **extra),
        **question_rows([NPS_ROW, STORE_ROW]),
    }
    # The second card shows when the hidden field "store" is Kadıköy (a "show when" row).
    data["questions-1-show_if-question"] = ["field:store", ""]
    data["questions-1-show_if-op"] = ["eq", "eq"]
    data["questions-1-show_if-value"] = ["Kadıköy", ""]
    return data


def test_the_builder_declares_hidden_fields_and_a_show_when_row_tests_one(admin_client):
    audience = make_audience()

    saved = admin_client.post(ADD, _post(audience, "order_id, store"))

    assert saved.status_code == 302
    survey = Survey.objects.get()
    assert survey.hidden_fields == ["order_id", "store"]
    assert Question.objects.get(key="store_note").show_if == {
        "field": "store",
        "op": "eq",
        "value": "Kadıköy",
    }
    html = admin_client.get(reverse("admin:surveys_survey_change", args=[survey.pk])).content
    page = html.decode()
    assert 'name="hidden_fields" value="order_id, store"' in page
    assert '<option value="field:store" selected>Hidden field: store</option>' in page
    # The builder's preview says the rule in words.
    preview = admin_client.get(
        reverse("admin:surveys_survey_builder_preview", args=[survey.pk]), {"lang": "en"}
    )
    assert "Hidden field: store is Kadıköy" in preview.content.decode()

    refusals = [
        (audience, "order-id", {}, "“order-id” is not a valid hidden field name"),
        (audience, "nps", {}, "“nps” is a hidden field of this survey; choose another key."),
        (audience, "order_id", {}, "The condition refers to an unknown hidden field “store”."),
        (
            make_audience("employees", kind=AudienceKind.EMPLOYEE),
            "store, email",
            {"anonymous": "on"},
            "An anonymous survey cannot have the hidden field “email”: it would say whom a "
            "response is from.",
        ),
    ]
    for target, hidden, extra, message in refusals:
        page = admin_client.post(ADD, _post(target, hidden, **extra))
        assert page.status_code == 200, hidden
        assert message in page.content.decode().replace("&#x27;", "'"), hidden
    assert Survey.objects.count() == 1


def test_a_public_links_admin_shows_its_secret_and_builds_signed_links(admin_client):
    audience = make_audience()
    admin_client.post(ADD, _post(audience, "order_id, store"))
    survey = Survey.objects.get()
    link = PublicLink.objects.create(survey=survey, slug="deliv")
    change = admin_client.get(reverse("admin:surveys_publiclink_change", args=[link.pk]))
    assert "Save the link to give it a signing secret." in change.content.decode()
    given = admin_client.post(
        reverse("admin:surveys_publiclink_changelist"),
        {"action": "new_signing_secrets", "_selected_action": [link.pk]},
    )
    assert given.status_code == 302
    link.refresh_from_db()
    assert len(link.signing_secret) == 64
    change = admin_client.get(reverse("admin:surveys_publiclink_change", args=[link.pk]))
    assert link.signing_secret in change.content.decode()

    sign_url = reverse("admin:surveys_publiclink_sign", args=[link.pk])
    page = admin_client.get(sign_url, {"order_id": "A-1", "store": "Kadıköy"}).content.decode()
    signed = re.search(r'<code class="xm-signed-link">([^<]+)</code>', page).group(1)
    query = dict(parse_qsl(urlsplit(signed.replace("&amp;", "&")).query))
    assert hidden_fields.link_data(
        query, secret=link.signing_secret, names=survey.hidden_fields, anonymous=False
    ) == {"order_id": "A-1", "store": "Kadıköy"}

    # The README's code signs the same way.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"<!-- hidden-fields-sign -->\n```python\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec(code.replace("print(", "str("), namespace)  # noqa: S102 - the README's own example
    made = namespace["signed_link"]("https://x/p/deliv/", link.signing_secret, store="Kadıköy")
    query = dict(parse_qsl(urlsplit(made).query))
    assert hidden_fields.link_data(
        query, secret=link.signing_secret, names=["store"], anonymous=False
    ) == {"store": "Kadıköy"}
