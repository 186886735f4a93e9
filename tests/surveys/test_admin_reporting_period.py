"""The survey change page says what an automatic (or wave) reporting period resolves to today,
as surveys.periods decides it, and its object tools never cover the survey's name."""

import datetime
import html as html_lib

import pytest

from audiences.models import AudienceKind
from surveys.models import ReportingPeriodKind, RuleKind
from tests.factories import make_audience
from tests.surveys.distribution_factories import make_rule
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 7, 10, 14, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def pulse():
    audience = make_audience("employees", AudienceKind.EMPLOYEE, name="Staff")
    return survey_with_questions(audience, name="Pulse", anonymous=True)


def _note(client, xm_manager, survey, **headers) -> str | None:
    client.force_login(xm_manager)
    html = client.get(f"/admin/surveys/survey/{survey.pk}/change/", **headers).content.decode()
    marker = '<div class="help xm-period-now" id="xm-period-now"><div>'
    if marker not in html:
        return None
    return html_lib.unescape(html.split(marker, 1)[1].split("</div>", 1)[0])


def test_automatic_without_a_wave_rule_is_the_calendar_month(client, xm_manager, pulse):
    assert _note(client, xm_manager, pulse) == (
        "Currently: the calendar month (December 2026), because the survey has no wave rule."
    )


def test_automatic_with_a_wave_that_never_ran_is_the_calendar_month(client, xm_manager, pulse):
    make_rule(pulse, RuleKind.WAVE)

    assert _note(client, xm_manager, pulse) == (
        "Currently: the calendar month (December 2026), because no wave has run yet."
    )


def test_automatic_during_a_wave_is_that_wave(client, xm_manager, pulse):
    make_rule(pulse, RuleKind.WAVE, last_run_at=NOW - datetime.timedelta(days=3), expiry_days=14)

    assert _note(client, xm_manager, pulse) == (
        "Currently: the wave that started on 4 Dec 2026, until 17 Dec 2026."
    )


def test_automatic_after_a_waves_period_is_the_month_until_the_next_run(client, xm_manager, pulse):
    make_rule(pulse, RuleKind.WAVE, last_run_at=NOW - datetime.timedelta(days=40), expiry_days=14)

    assert _note(client, xm_manager, pulse) == (
        "Currently: the calendar month (December 2026), until the next wave runs: the latest "
        "wave's period is over."
    )


def test_the_note_is_in_the_language_shown_and_absent_for_a_fixed_kind(client, xm_manager, pulse):
    turkish = _note(client, xm_manager, pulse, HTTP_ACCEPT_LANGUAGE="tr")
    pulse.reporting_period = ReportingPeriodKind.QUARTER
    pulse.save(update_fields=["reporting_period"])

    assert turkish is not None and "(Aralık 2026)" in turkish
    assert _note(client, xm_manager, pulse) is None


def test_the_change_page_loads_the_stylesheet_that_wraps_its_object_tools(
    client, xm_manager, pulse
):
    client.force_login(xm_manager)

    html = client.get(f"/admin/surveys/survey/{pulse.pk}/change/").content.decode()

    assert '<link rel="stylesheet" href="/static/surveys/admin/results.css">' in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_object_tools_never_cover_the_survey_name(desktop_page, live_server, django_user_model):
    django_user_model.objects.create_superuser(
        username="xm", email="xm@example.com", password="correct-horse-battery"
    )
    audience = make_audience("employees", AudienceKind.EMPLOYEE, name="Staff")
    survey = survey_with_questions(audience, name="Employee engagement pulse", anonymous=True)
    page = desktop_page
    page.set_viewport_size({"width": 1100, "height": 900})
    page.context.add_cookies([{"name": "django_language", "value": "tr", "url": live_server.url}])
    page.goto(f"{live_server.url}/admin/login/?next=/admin/surveys/survey/{survey.pk}/change/")
    page.fill("#id_username", "xm")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_selector(".object-tools")

    name = page.locator("#content h2").first.bounding_box()
    tools = page.locator(".object-tools").bounding_box()

    assert page.locator(".object-tools li").count() == 7  # with "Copy survey"
    assert tools["y"] >= name["y"] + name["height"] - 1  # below the name, never across it
    assert tools["x"] + tools["width"] <= 1100
