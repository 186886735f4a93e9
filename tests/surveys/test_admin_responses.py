"""Responses and invitations in the admin and the export downloads."""

import csv
import io

import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from audiences.models import AudienceKind
from surveys import tokens
from surveys.models import InvitationState
from tests.factories import make_audience, make_person
from tests.surveys.admin_responses_support import INVITATIONS, RESPONSES, WHEN, make_invitation
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


def test_response_list_names_the_person_of_named_surveys(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 9}, person=make_person("cust-1", name="Ayşe Yılmaz"))

    html = admin_client.get(RESPONSES).content.decode()

    assert '<td class="field-respondent">Ayşe Yılmaz</td>' in html
    assert 'class="column-respondent"' in html


def test_response_list_of_an_anonymous_survey_has_no_person_column(admin_client):
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    survey = survey_with_questions(audience=employees, anonymous=True)
    add_response(survey, {"nps": 9})

    html = admin_client.get(RESPONSES, {"survey__id__exact": survey.pk}).content.decode()

    assert "column-respondent" not in html
    assert "field-respondent" not in html
    assert '<td class="field-list_segment">—</td>' in html  # never beside an anonymous id


def test_response_list_filters_completed_and_by_survey(admin_client):
    audience = make_audience()
    visit = survey_with_questions(audience, name="Visit")
    other = survey_with_questions(audience, name="Other")
    done = add_response(visit, {"nps": 9})
    open_one = add_response(visit, {"nps": 1})
    open_one.completed_on = None
    open_one.save()
    add_response(other, {"nps": 4})

    page = admin_client.get(RESPONSES, {"completed": "no", "survey__id__exact": visit.pk})
    finished = admin_client.get(RESPONSES, {"completed": "yes", "survey__id__exact": visit.pk})

    assert [r.pk for r in page.context["cl"].result_list] == [open_one.pk]
    assert [r.pk for r in finished.context["cl"].result_list] == [done.pk]


def count_list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_response_list_query_count_does_not_grow_with_rows(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 9}, person=make_person("p-0"))
    few = count_list_queries(admin_client, RESPONSES)
    for n in range(1, 12):
        add_response(survey, {"nps": n % 11}, person=make_person(f"p-{n}"))

    many = count_list_queries(admin_client, RESPONSES)

    assert many == few


def test_response_page_is_read_only_and_shows_escaped_answers(admin_client):
    survey = survey_with_questions()
    response = add_response(
        survey,
        {"nps": 3, "reason": "price", "improve": "<script>alert(1)</script> çok geç"},
        person=make_person("cust-1"),
    )

    html = admin_client.get(f"{RESPONSES}{response.pk}/change/").content.decode()

    assert "<th scope='row'>Recommend us?</th><td>3</td>" in html
    assert "<th scope='row'>Main reason</th><td>Price</td>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; çok geç" in html
    assert "<script>alert(1)</script>" not in html
    assert 'name="_save"' not in html


def test_anonymous_response_page_hides_who_and_when(admin_client):
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    survey = survey_with_questions(audience=employees, anonymous=True)
    for _ in range(4):  # the slice reaches the anonymity threshold (5), so its text shows
        add_response(survey, {"nps": 9})
    response = add_response(survey, {"nps": 2, "improve": "Yöneticim dinlemiyor"})

    page = admin_client.get(f"{RESPONSES}{response.pk}/change/")

    fields = [f for fieldset in page.context["adminform"] for line in fieldset for f in line.fields]
    assert fields == [
        "survey",
        "audience",
        "touchpoint",
        "channel",
        "language",
        "segment",
        "completed_on",
        "answers_table",
    ]
    assert "Yöneticim dinlemiyor" in page.content.decode()


def test_responses_cannot_be_added(admin_client):
    assert admin_client.get(f"{RESPONSES}add/").status_code == 403


def test_invitation_list_shows_state_and_suppression(admin_client):
    survey = survey_with_questions()
    make_invitation(
        survey,
        make_person("cust-1", name="Ayşe"),
        state=InvitationState.SUPPRESSED,
        suppression_reason="frequency_cap",
    )

    html = admin_client.get(INVITATIONS, {"state__exact": "suppressed"}).content.decode()

    assert '<td class="field-shown_state">Suppressed</td>' in html
    assert '<td class="field-reason">frequency cap</td>' in html
    assert '<td class="field-person nowrap">Ayşe</td>' in html


def test_invitation_page_never_shows_the_nonce_or_token_hash(admin_client):
    survey = survey_with_questions()
    invitation = make_invitation(survey, make_person("cust-1"))

    html = admin_client.get(f"{INVITATIONS}{invitation.pk}/change/").content.decode()

    assert invitation.nonce not in html
    assert invitation.token_hash not in html
    assert tokens.token_for(invitation.nonce) not in html
    assert admin_client.get(f"{INVITATIONS}add/").status_code == 403


def test_invitation_list_query_count_does_not_grow_with_rows(admin_client):
    survey = survey_with_questions()
    make_invitation(survey, make_person("p-0"))
    few = count_list_queries(admin_client, INVITATIONS)
    for n in range(1, 12):
        make_invitation(survey, make_person(f"p-{n}"))

    assert count_list_queries(admin_client, INVITATIONS) == few


# --- Export downloads ----------------------------------------------------------------------


def test_csv_download_streams_the_export(admin_client):
    survey = survey_with_questions()
    response = add_response(survey, {"nps": 7}, person=make_person("cust-1"), completed_at=WHEN)

    page = admin_client.get(f"/admin/surveys/survey/{survey.pk}/export/csv/")

    assert isinstance(page, StreamingHttpResponse)
    assert page["Content-Type"] == "text/csv; charset=utf-8"
    assert page["Content-Disposition"] == (
        f'attachment; filename="survey-{survey.pk}-responses.csv"'
    )
    body = b"".join(page.streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(body)))[1] == [
        str(response.pk),
        "2026-10-05T14:30:00+00:00",
        "tr",
        "email",
        "",
        "",
        "cust-1",
        "1",
        "7",
        "",
        "",
    ]


def test_xlsx_download_is_a_workbook(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 7}, person=make_person("cust-1"), completed_at=WHEN)

    page = admin_client.get(f"/admin/surveys/survey/{survey.pk}/export/xlsx/")

    assert isinstance(page, FileResponse)
    sheet = load_workbook(io.BytesIO(b"".join(page.streaming_content)))["responses"]
    assert sheet["A1"].value == "response_id"
    assert (sheet["H2"].value, sheet["I2"].value) == (1, 7)  # the version, then nps


def test_export_action_needs_exactly_one_survey(admin_client):
    audience = make_audience()
    one = survey_with_questions(audience, name="One")
    two = survey_with_questions(audience, name="Two")

    both = admin_client.post(
        "/admin/surveys/survey/",
        {"action": "export_csv", "_selected_action": [one.pk, two.pk]},
        follow=True,
    )
    single = admin_client.post(
        "/admin/surveys/survey/", {"action": "export_xlsx", "_selected_action": [one.pk]}
    )

    assert "Select exactly one survey to export." in both.content.decode()
    assert isinstance(single, FileResponse)


def test_outsider_cannot_download_exports(client, outsider):
    survey = survey_with_questions()
    client.force_login(outsider)

    page = client.get(f"/admin/surveys/survey/{survey.pk}/export/csv/")

    assert page.status_code == 302
    assert page["Location"].startswith("/admin/login/")
