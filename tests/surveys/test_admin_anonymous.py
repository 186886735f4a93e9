"""Anonymous surveys in the responses and invitations admin: below superuser never one by one,
a summary per period, and invitations shown as they stood until their period is published."""

import csv
import datetime
import io

import pytest
from django.test import Client
from django.utils.html import escape
from openpyxl import load_workbook

from audiences.models import AudienceKind, AuditAction, AuditLog, Role
from surveys import exports
from surveys.admin.responses import InvitationAdmin, ShownStateFilter
from surveys.models import Invitation, InvitationState, ReportingPeriod
from tests.access.conftest import staff_with_grant
from tests.factories import make_audience, make_person
from tests.surveys.admin_responses_support import INVITATIONS, RESPONSES, WHEN, make_invitation
from tests.surveys.anonymous_support import OCTOBER, staff_pulse
from tests.surveys.test_admin_support import PLAIN_STATIC, add_response, survey_with_questions

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Render {% static %} without a collected manifest (the PostgreSQL pass runs DEBUG off)."""
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


# --- Anonymous surveys below superuser: never one by one, a summary per period ---------------


@pytest.fixture
def pulse(monkeypatch):
    monkeypatch.setattr(exports, "_shuffle", lambda items: items.sort())
    return staff_pulse()


@pytest.fixture
def named():
    survey = survey_with_questions(make_audience("customers"), name="Visit")
    response = add_response(
        survey, {"nps": 4, "improve": "Kargo geç"}, person=make_person("cust-1", name="Ayşe")
    )
    return survey, response


def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def hr(client, pulse, named, xm_manager):
    """An HR analyst granted the employee audience only (as in tests/access)."""
    analyst = staff_with_grant("hr.analyst", pulse.survey.audience, Role.ANALYST, xm_manager)
    return logged_in(client, analyst)


def listed(page) -> list[int]:
    return [r.pk for r in page.context["cl"].result_list]


def test_hr_analyst_never_lists_anonymous_responses_whatever_the_filter(hr, pulse):
    october, november = pulse.october[0].completed_on, pulse.november[0].completed_on

    plain = hr.get(RESPONSES)
    by_survey = hr.get(RESPONSES, {"survey__id__exact": pulse.survey.pk})
    by_day = hr.get(RESPONSES, {"completed_on__gte": october, "completed_on__lt": november})

    assert (listed(plain), listed(by_survey), listed(by_day)) == ([], [], [])
    summary_url = f"{RESPONSES}summary/{pulse.survey.pk}/"
    assert plain.context["anonymous_surveys"] == [("Pulse", summary_url)]
    assert f'<a href="{summary_url}">Pulse</a>' in plain.content.decode()


def test_hr_analyst_cannot_open_an_anonymous_response_or_its_history(hr, pulse):
    response = pulse.october[0]

    assert hr.get(f"{RESPONSES}{response.pk}/change/").status_code == 404
    assert hr.get(f"{RESPONSES}{response.pk}/history/").status_code == 404
    assert hr.get(f"{RESPONSES}999999/change/").status_code == 404  # same as a missing one


def test_an_analyst_of_a_named_survey_still_lists_and_opens_its_responses(
    client, named, pulse, xm_manager
):
    survey, response = named
    cx = staff_with_grant("cx.analyst", survey.audience, Role.ANALYST, xm_manager)
    logged_in(client, cx)

    page = client.get(RESPONSES)
    change = client.get(f"{RESPONSES}{response.pk}/change/")

    assert listed(page) == [response.pk]
    assert page.context["anonymous_surveys"] == []
    assert change.status_code == 200
    assert "Kargo geç" in change.content.decode()


def test_superuser_keeps_the_anonymous_rows_as_stored(admin_client, pulse):
    response = pulse.october[0]

    page = admin_client.get(RESPONSES, {"survey__id__exact": pulse.survey.pk})
    change = admin_client.get(f"{RESPONSES}{response.pk}/change/")

    assert len(listed(page)) == 16  # every stored response, released or not
    assert "anonymous_surveys" not in page.context
    assert change.status_code == 200
    assert '<td class="field-completed_on nowrap">1 Oct 2026</td>' in page.content.decode()


def test_summary_shows_released_periods_of_k_and_per_question_results_once_published(hr, pulse):
    page = hr.get(f"{RESPONSES}summary/{pulse.survey.pk}/")

    html = page.content.decode()
    assert page.status_code == 200
    summaries = [s for s, _published_at, _results in page.context["summaries"]]
    assert [(s.starts_on.month, s.n) for s in summaries] == [(12, None), (11, 5), (10, 6)]
    october = html[html.index('id="period-2026-10-01"') :]
    assert "6 responses" in october
    assert "eNPS 0 · 6 answers" in october  # 3 promoters, 3 detractors
    assert "<li>Price: 3</li><li>Speed: 2</li>" in october
    assert "<li>Daha çok eğitim</li>" in october
    # A short list of comments stands open; a long one folds behind its count.
    assert '<details class="xm-comments-box" open><summary>' in october
    assert "&quot;http://x&quot;" in html  # escaped, never markup
    assert "5 responses · open: the results per question appear once the period is over" in html
    assert "Fewer than 5 responses released: nothing is shown." in html
    for hidden in ("Kasım notu", "waiting", "late and alone", "December alone", "sales", "legal"):
        assert hidden not in html
    assert AuditLog.objects.filter(
        action=AuditAction.RESPONSES_VIEWED, target=f"survey {pulse.survey.pk} summary"
    ).exists()


def test_summary_says_as_of_when_each_periods_state_and_names_the_metric_as_the_dashboard(
    hr, pulse, monkeypatch
):
    from django.utils import timezone

    ReportingPeriod.objects.filter(survey=pulse.survey, starts_on=OCTOBER[0]).update(
        published_at=datetime.datetime(2026, 11, 1, 0, 5, tzinfo=datetime.UTC)
    )
    monkeypatch.setattr(
        timezone, "now", lambda: datetime.datetime(2026, 12, 7, 10, 14, tzinfo=datetime.UTC)
    )
    url = f"{RESPONSES}summary/{pulse.survey.pk}/"

    html = hr.get(url).content.decode()
    turkish = hr.get(url, HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert '<p class="xm-as-of" id="xm-as-of">As of 7 Dec 2026, 10:14 UTC</p>' in html
    assert "7 Aralık 2026 10:14 UTC" in turkish
    october = html[html.index('id="period-2026-10-01"') :]
    november = html[html.index('id="period-2026-11-01"') : html.index('id="period-2026-10-01"')]
    december = html[html.index('id="period-2026-12-01"') : html.index('id="period-2026-11-01"')]
    assert '<span class="xm-published">Published on 1 Nov 2026: final.</span>' in october
    assert '<span class="xm-open">Open until 30 Nov 2026.</span>' in november
    assert '<span class="xm-open">Open until 31 Dec 2026.</span>' in december
    # An employee audience's NPS is its eNPS, rounded as the dashboard rounds it.
    assert "eNPS 0 · 6 answers" in october and "NPS 0.0" not in october


def test_summary_of_a_customer_audience_says_nps(admin_client, monkeypatch):
    monkeypatch.setattr(exports, "_shuffle", lambda items: items.sort())
    pulse = staff_pulse(make_audience("shoppers", AudienceKind.CUSTOMER, name="Shoppers"))

    html = admin_client.get(f"{RESPONSES}summary/{pulse.survey.pk}/").content.decode()

    assert "NPS 0 · 6 answers" in html and "eNPS" not in html


def test_summary_of_another_audiences_survey_is_404_and_a_viewer_gets_403(
    client, hr, pulse, named, xm_manager
):
    survey, _response = named
    viewer = staff_with_grant("hr.viewer", pulse.survey.audience, Role.VIEWER, xm_manager)

    assert hr.get(f"{RESPONSES}summary/{survey.pk}/").status_code == 404
    assert (
        logged_in(client, viewer).get(f"{RESPONSES}summary/{pulse.survey.pk}/").status_code == 403
    )


def test_summary_of_a_named_survey_leads_to_its_responses(admin_client, named):
    survey, _response = named

    page = admin_client.get(f"{RESPONSES}summary/{survey.pk}/")

    assert page.status_code == 302
    assert page["Location"] == f"{RESPONSES}?survey__id__exact={survey.pk}"


def test_survey_page_links_the_summary_of_an_anonymous_survey(hr, pulse):
    html = hr.get(f"/admin/surveys/survey/{pulse.survey.pk}/change/").content.decode()

    assert f'href="{RESPONSES}summary/{pulse.survey.pk}/" id="xm-summary-link"' in html


def test_hr_analyst_downloads_the_period_summary_never_the_rows(hr, pulse):
    csv_page = hr.get(f"/admin/surveys/survey/{pulse.survey.pk}/export/csv/")
    xlsx_page = hr.get(f"/admin/surveys/survey/{pulse.survey.pk}/export/xlsx/")

    assert csv_page["Content-Disposition"] == (
        f'attachment; filename="survey-{pulse.survey.pk}-summary.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(csv_page.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == [*exports.SUMMARY_HEADER]
    assert [row[:3] for row in rows[1:]][0] == ["2026-10-01", "2026-10-31", "6"]
    workbook = load_workbook(io.BytesIO(b"".join(xlsx_page.streaming_content)))
    assert workbook.sheetnames == ["summary"]
    assert workbook["summary"]["A1"].value == "period_start"


def test_superuser_downloads_the_anonymous_rows(admin_client, pulse):
    page = admin_client.get(f"/admin/surveys/survey/{pulse.survey.pk}/export/csv/")

    rows = list(csv.reader(io.StringIO(b"".join(page.streaming_content).decode("utf-8-sig"))))
    assert page["Content-Disposition"] == (
        f'attachment; filename="survey-{pulse.survey.pk}-responses.csv"'
    )
    assert rows[0][:2] == ["response_id", "completed"]
    assert len(rows) == 1 + 16


def test_an_anonymous_surveys_invitation_says_answered_never_when(admin_client, pulse, xm_manager):
    invitation = make_invitation(
        pulse.survey,
        make_person("emp-1", name="Deniz"),
        state=InvitationState.RESPONDED,
        opened_at=WHEN,
        responded_at=WHEN,  # in October, a published period
    )
    analyst = staff_with_grant("hr.analyst", pulse.survey.audience, Role.ANALYST, xm_manager)

    for user_client, field in (
        (admin_client, "answered"),
        (logged_in(Client(), analyst), "answered_shown"),
    ):
        page = user_client.get(f"{INVITATIONS}{invitation.pk}/change/")
        fields = [f for fs in page.context["adminform"] for line in fs for f in line.fields]
        html = page.content.decode()
        assert field in fields
        assert "opened_at" not in fields and "responded_at" not in fields
        assert "Yes (an anonymous survey keeps no time of answering)" in html
        assert "5 Oct 2026" not in html and "14:30" not in html


def test_a_named_surveys_invitation_keeps_its_times(admin_client, named):
    survey, _response = named
    invitation = make_invitation(
        survey, make_person("cust-2"), state=InvitationState.RESPONDED, responded_at=WHEN
    )

    page = admin_client.get(f"{INVITATIONS}{invitation.pk}/change/")

    fields = [f for fs in page.context["adminform"] for line in fs for f in line.fields]
    assert "responded_at" in fields and "answered" not in fields


def test_the_invitation_list_filters_only_by_state_and_survey(admin_client):
    assert InvitationAdmin.list_filter == (ShownStateFilter, "survey")
    assert ShownStateFilter.parameter_name == "state__exact"
    assert not {"responded_at", "opened_at", "state"} & set(InvitationAdmin.list_display)


# --- The state an anonymous survey's invitation is shown in ---------------------------------

PERIOD_START = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)


@pytest.fixture
def states(pulse):
    """Invitations of the pulse: answered in October (published) and in November (open),
    opened, and only sent; stored as surveys.services stores them (period's first midnight)."""
    october = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    rows = {
        "october": dict(state=InvitationState.RESPONDED, opened_at=october, responded_at=october),
        "november": dict(
            state=InvitationState.RESPONDED, opened_at=PERIOD_START, responded_at=PERIOD_START
        ),
        "opened": dict(state=InvitationState.OPENED, opened_at=PERIOD_START),
        "sent": dict(state=InvitationState.SENT),
    }
    return {
        name: make_invitation(pulse.survey, make_person(f"emp-{name}"), sent_at=WHEN, **fields).pk
        for name, fields in rows.items()
    }


def shown(page) -> list[tuple[int, str]]:
    return [(i.pk, i.shown_state) for i in page.context["cl"].result_list]


def test_below_superuser_an_anonymous_answer_shows_only_once_its_period_is_published(hr, states):
    ids = states
    everything = hr.get(INVITATIONS)

    assert shown(everything) == [
        (ids["sent"], "sent"),
        (ids["opened"], "sent"),
        (ids["november"], "sent"),
        (ids["october"], "responded"),
    ]
    html = everything.content.decode()
    assert html.count('<td class="field-shown_state">Sent</td>') == 3
    assert html.count('<td class="field-shown_state">Responded</td>') == 1
    assert "Opened" not in html.split('id="changelist-filter"')[0]
    by_state = {
        state: [pk for pk, _state in shown(hr.get(INVITATIONS, {"state__exact": state}))]
        for state in ("sent", "opened", "responded")
    }
    assert by_state == {
        "sent": [ids["sent"], ids["opened"], ids["november"]],
        "opened": [],
        "responded": [ids["october"]],
    }
    assert Invitation.objects.get(pk=ids["november"]).state == InvitationState.RESPONDED


def test_superusers_see_the_stored_state(admin_client, states):
    ids = states

    assert shown(admin_client.get(INVITATIONS)) == [
        (ids["sent"], "sent"),
        (ids["opened"], "opened"),
        (ids["november"], "responded"),
        (ids["october"], "responded"),
    ]
    responded = admin_client.get(INVITATIONS, {"state__exact": "responded"})
    assert [pk for pk, _s in shown(responded)] == [ids["november"], ids["october"]]
    page = admin_client.get(f"{INVITATIONS}{ids['november']}/change/").content.decode()
    assert "Yes (an anonymous survey keeps no time of answering)" in page


def test_sorting_by_state_sorts_by_the_state_shown(hr, states):
    ids = states

    column = hr.get(INVITATIONS).context["cl"].list_display.index("shown_state")

    page = hr.get(INVITATIONS, {"o": str(column)})

    assert shown(page) == [
        (ids["october"], "responded"),
        (ids["sent"], "sent"),
        (ids["opened"], "sent"),
        (ids["november"], "sent"),
    ]


def test_a_masked_answer_reads_like_no_answer_on_its_page(hr, states):
    def readonly(pk: int) -> list[tuple[str, str]]:
        page = hr.get(f"{INVITATIONS}{pk}/change/")
        return [
            (field.field["name"], str(field.contents()))
            for fieldset in page.context["adminform"]
            for line in fieldset
            for field in line
            if field.field["name"] in ("shown_state", "answered_shown")
        ]

    answered, unanswered = readonly(states["november"]), readonly(states["sent"])

    assert (
        answered
        == unanswered
        == [
            ("shown_state", "Sent"),
            (
                "answered_shown",
                escape(
                    "No, or not shown yet: an anonymous survey's answers show once their "
                    "reporting period is published"
                ),
            ),
        ]
    )


def test_an_unknown_state_filter_lists_nothing(hr, states):
    page = hr.get(INVITATIONS, {"state__exact": "lost"})

    assert (page.status_code, shown(page)) == (200, [])


def test_distribution_panel_of_an_anonymous_survey_counts_ended_periods_in_groups_of_k(hr, pulse):
    page = hr.get(f"/admin/surveys/distributionrule/panel/{pulse.survey.pk}/")

    # October's legal (1) is under k, and sales (5) would reveal it by subtraction.
    assert page.context["slices"] == [
        {"group": "legal", "suppressed": True},
        {"group": "sales", "suppressed": True},
    ]
    assert "counted over ended reporting periods only" in page.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_summary_on_a_phone_shows_the_figures_under_each_question(
    phone_page, desktop_page, live_server, django_user_model
):
    django_user_model.objects.create_superuser(
        username="xm", email="xm@example.com", password="correct-horse-battery"
    )
    pulse = staff_pulse()
    url = f"{live_server.url}{RESPONSES}summary/{pulse.survey.pk}/"

    def boxes(page) -> list[tuple[dict, dict]]:
        page.goto(f"{live_server.url}/admin/login/?next={RESPONSES}summary/{pulse.survey.pk}/")
        page.fill("#id_username", "xm")
        page.fill("#id_password", "correct-horse-battery")
        page.click("input[type=submit]")
        page.wait_for_url(url)
        rows = page.locator("#period-2026-10-01 .xm-answers tr")
        return [
            (rows.nth(i).locator("th").bounding_box(), rows.nth(i).locator("td").bounding_box())
            for i in range(rows.count())
        ]

    phone = boxes(phone_page)
    desktop = boxes(desktop_page)

    assert len(phone) == len(desktop) == 3  # NPS, reason, comments
    for question, figures in phone:  # under the question, as wide as it
        assert figures["y"] >= question["y"] + question["height"] - 1
        assert figures["width"] >= question["width"] - 1
    for question, figures in desktop:  # beside it
        assert figures["x"] >= question["x"] + question["width"] - 1
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 390
