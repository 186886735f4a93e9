"""Your settings: each admin user's own time zone wins over the browser's, which wins over the
platform's; the form refuses a zone the IANA database does not know, in the reader's language;
reading any page writes nothing."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse

from metrics.closedloop import response_rules
from metrics.models import Case
from tests.metrics.closed_loop_support import completed_response, contact_survey, detractor_rule
from xmplatform.core.models import UserSettings
from xmplatform.core.user_settings import UnknownTimeZone, user_time_zone_set
from xmplatform.core.viewer_zone import SESSION_KEY, viewer_zone

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
DUE = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def analyst(django_user_model):  # noqa: ANN001, ANN201
    """A second staff user, whose choice must never reach the XM manager's pages."""
    return django_user_model.objects.create_user(
        username="analyst", email="analyst@example.com", password=PASSWORD, is_staff=True
    )


def _signed_in(user, zone_cookie: str | None = None) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    if zone_cookie is not None:
        client.cookies["xm_tz"] = zone_cookie
    return client


def _case_due_at_ten_utc() -> Case:
    survey = contact_survey()
    detractor_rule(survey, name="Call back detractors")
    response_rules.response_alerts_open(response_id=completed_response(survey, nps=3).pk)
    case = Case.objects.get()
    Case.objects.filter(pk=case.pk).update(due_at=DUE)
    return case


def _zone_name(client: Client) -> str:
    request = RequestFactory().get("/admin/")
    request.COOKIES = {k: v.value for k, v in client.cookies.items()}
    request.session = client.session
    zone = viewer_zone(request)
    return str(zone) if zone else ""


# --- The zone a request is shown in ------------------------------------------------------


def test_the_chosen_zone_wins_over_the_browsers_cookie(xm_manager) -> None:  # noqa: ANN001
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Europe/Istanbul")
    assert _zone_name(_signed_in(xm_manager, "America/New_York")) == "Europe/Istanbul"


def test_without_a_choice_the_browsers_zone_applies_and_a_bad_cookie_is_ignored(
    xm_manager,  # noqa: ANN001
) -> None:
    assert _zone_name(_signed_in(xm_manager, "America/New_York")) == "America/New_York"
    # As the browser's script writes it (encodeURIComponent).
    assert _zone_name(_signed_in(xm_manager, "America%2FNew_York")) == "America/New_York"
    for bogus in (
        "Mars/Olympus_Mons",
        "../../etc/passwd",
        "Europe/Istanbul" * 10,
        "localtime",
        "%2E%2E",
    ):
        assert _zone_name(_signed_in(xm_manager, bogus)) == ""


def test_the_browser_choice_saved_brings_the_cookie_back(xm_manager) -> None:  # noqa: ANN001
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Asia/Tokyo")
    user_time_zone_set(user_id=xm_manager.pk, time_zone="")
    assert _zone_name(_signed_in(xm_manager, "America/New_York")) == "America/New_York"
    assert UserSettings.objects.get().time_zone == ""


def test_anonymous_visitors_and_other_users_are_not_shown_someones_zone(
    client,
    xm_manager,
    analyst,  # noqa: ANN001
) -> None:
    user_time_zone_set(user_id=analyst.pk, time_zone="Asia/Tokyo")
    client.cookies["xm_tz"] = "America/New_York"
    assert _zone_name(client) == "America/New_York"
    assert _zone_name(_signed_in(xm_manager)) == ""
    # Signing out forgets it: the same browser is anonymous again.
    tokyo = _signed_in(analyst)
    assert _zone_name(tokyo) == "Asia/Tokyo"
    tokyo.post(reverse("admin:logout"))
    assert SESSION_KEY not in tokyo.session
    assert _zone_name(tokyo) == ""


def test_an_unknown_zone_is_never_stored(xm_manager) -> None:  # noqa: ANN001
    with pytest.raises(UnknownTimeZone):
        user_time_zone_set(user_id=xm_manager.pk, time_zone="Mars/Olympus_Mons")
    assert not UserSettings.objects.exists()


def test_a_second_save_keeps_one_row(xm_manager) -> None:  # noqa: ANN001
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Asia/Tokyo")
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Europe/Istanbul")
    assert list(UserSettings.objects.values_list("user_id", "time_zone")) == [
        (xm_manager.pk, "Europe/Istanbul")
    ]


# --- A list in the chosen zone -----------------------------------------------------------


def test_a_cases_due_time_reads_in_the_chosen_zone(xm_manager) -> None:  # noqa: ANN001
    _case_due_at_ten_utc()
    url = reverse("admin:metrics_case_changelist")
    client = _signed_in(xm_manager)
    assert "7 Dec 2026, 10:00" in client.get(url, headers={"accept-language": "en"}).text
    client.post(reverse("your_settings"), {"follow": "chosen", "time_zone": "Europe/Istanbul"})
    english = client.get(url, headers={"accept-language": "en"}).text
    assert "7 Dec 2026, 13:00" in english
    assert "7 Dec 2026, 10:00" not in english
    assert "7 Aralık 2026 13:00" in client.get(url, headers={"accept-language": "tr"}).text
    # The next sign-in, in another browser that says it is in New York, starts in Istanbul.
    elsewhere = _signed_in(get_user_model().objects.get(pk=xm_manager.pk), "America/New_York")
    assert "7 Dec 2026, 13:00" in elsewhere.get(url, headers={"accept-language": "en"}).text


# --- The form ------------------------------------------------------------------------------


def test_the_page_is_in_the_user_tools_and_starts_on_the_browsers_zone(xm_manager) -> None:  # noqa: ANN001
    client = _signed_in(xm_manager, "America/New_York")
    home = client.get(reverse("admin:index"), headers={"accept-language": "tr"}).text
    assert f'href="{reverse("your_settings")}" id="xm-your-settings-link">Ayarlarınız</a>' in home
    page = client.get(reverse("your_settings"), headers={"accept-language": "tr"})
    assert page.status_code == 200
    text = page.text
    assert 'value="browser" id="id_follow_0" required checked>' in text
    assert "şu an America/New_York" in text
    assert '<option value="Europe/Istanbul" label="UTC+03:00">' in text
    assert "<strong>Türkçe</strong>" in text


def test_a_valid_zone_is_saved_and_shown_as_chosen(xm_manager) -> None:  # noqa: ANN001
    client = _signed_in(xm_manager, "America/New_York")
    url = reverse("your_settings")
    saved = client.post(url, {"follow": "chosen", "time_zone": " Europe/Istanbul "})
    assert saved.status_code == 302
    assert saved.headers["Location"] == url
    assert UserSettings.objects.get(user=xm_manager).time_zone == "Europe/Istanbul"
    page = client.get(url, headers={"accept-language": "en"}).text
    assert "Dates and times are now shown in Europe/Istanbul." in page
    assert 'value="Europe/Istanbul"' in page
    assert '<span class="xm-quiet" id="xm-now-zone">(Europe/Istanbul)</span>' in page


def test_an_unknown_zone_is_refused_in_the_readers_language_and_nothing_is_lost(
    xm_manager,  # noqa: ANN001
) -> None:
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Asia/Tokyo")
    client = _signed_in(xm_manager)
    url = reverse("your_settings")
    data = {"follow": "chosen", "time_zone": "Europe/Istanbull"}
    turkish = client.post(url, data, headers={"accept-language": "tr"})
    assert turkish.status_code == 200
    assert "“Europe/Istanbull” bildiğimiz bir saat dilimi değil." in turkish.text
    assert 'value="Europe/Istanbull"' in turkish.text  # what was typed stays to be corrected
    english = client.post(url, data, headers={"accept-language": "en"})
    assert "“Europe/Istanbull” is not a time zone we know." in english.text
    empty = client.post(url, {"follow": "chosen", "time_zone": ""})
    assert "Pick a time zone from the list, e.g. Europe/Istanbul." in empty.text
    assert UserSettings.objects.get(user=xm_manager).time_zone == "Asia/Tokyo"
    assert client.session[SESSION_KEY] == "Asia/Tokyo"


def test_choosing_the_browsers_zone_keeps_no_name_even_if_one_was_typed(xm_manager) -> None:  # noqa: ANN001
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Asia/Tokyo")
    client = _signed_in(xm_manager, "America/New_York")
    client.post(reverse("your_settings"), {"follow": "browser", "time_zone": "Mars/Olympus"})
    assert UserSettings.objects.get(user=xm_manager).time_zone == ""
    assert _zone_name(client) == "America/New_York"


def test_the_page_is_for_staff_only(client, outsider) -> None:  # noqa: ANN001
    client.force_login(outsider)
    response = client.post(reverse("your_settings"), {"follow": "chosen", "time_zone": "UTC"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("admin:login"))
    assert not UserSettings.objects.exists()


def test_reading_the_page_and_a_list_writes_nothing(
    xm_manager,
    django_assert_num_queries,  # noqa: ANN001
) -> None:
    user_time_zone_set(user_id=xm_manager.pk, time_zone="Europe/Istanbul")
    client = _signed_in(xm_manager, "America/New_York")
    # 1 session, 2 user, 3 the user's chosen zone: no write, and no query for the zone on
    # other pages (it rides in the session).
    with django_assert_num_queries(3) as captured:
        assert client.get(reverse("your_settings")).status_code == 200
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)
    assert not any("core_usersettings" in q["sql"] for q in _list_queries(client))


def _list_queries(client: Client) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("admin:metrics_case_changelist")).status_code == 200
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)
    return captured.captured_queries
