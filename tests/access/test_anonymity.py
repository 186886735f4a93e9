"""Anonymity that holds: no row of an anonymous survey leads back to a person, and small
departments stay hidden on every surface (dashboard, distribution panel, exports, responses)."""

import datetime as dt
import json

import pytest
from django.db import models
from django.test import Client

from audiences.models import AudienceKind, Role
from metrics.services import rollups_rebuild
from surveys import tokens
from surveys.exports import SUMMARY_HEADER, export_rows
from surveys.models import Answer, Invitation, InvitationState, Response
from surveys.periods import period_for, periods_release
from surveys.services import Respondent, response_answer
from tests.access.conftest import staff_with_grant
from tests.factories import make_membership, make_person
from tests.metrics.conftest import TODAY, add_responses, build_world, nps_specs
from tests.surveys.distribution_factories import make_invitation

pytestmark = pytest.mark.django_db

# Models a response or answer row of an anonymous survey may point to: none is a person.
NON_PERSONAL = {"surveys.survey", "audiences.audience", "journeys.touchpoint", "surveys.question"}


def submit_anonymously(world, person, segment: str, text: str) -> Invitation:  # noqa: ANN001
    make_membership(person, world.audience, segment=segment)
    invitation = make_invitation(
        world.survey, person, state=InvitationState.SENT, sent_at=dt.datetime.now(dt.UTC)
    )
    token = tokens.token_for(invitation.nonce)
    response_answer(
        respondent=Respondent(survey=world.survey, invitation=invitation, token=token),
        questions=list(world.survey.questions.all()),
        values={"nps": 3, "comment": text},
        language="en",
        user_agent="Mozilla/5.0 (Personal Phone)",
    )
    invitation.refresh_from_db()
    return invitation


@pytest.fixture
def staff_survey():  # noqa: ANN201
    world = build_world("staff", kind=AudienceKind.EMPLOYEE, touchpoints=())
    world.survey.anonymous = True
    world.survey.save()
    return world


def test_an_anonymous_response_row_cannot_be_joined_to_a_person_by_any_column(staff_survey):
    person = make_person("emp-77", name="Deniz Aksoy", email="deniz@example.com")
    invitation = submit_anonymously(staff_survey, person, "legal", "My manager ignores me")

    response = Response.objects.get(survey=staff_survey.survey)
    month = dt.datetime.now(dt.UTC).date().replace(day=1)  # the survey's period: the month
    period_start = dt.datetime.combine(month, dt.time.min, tzinfo=dt.UTC)
    identifying = {
        person.external_id,
        person.email,
        person.name,
        invitation.nonce,
        invitation.token_hash,
        tokens.token_for(invitation.nonce),
        "Mozilla/5.0 (Personal Phone)",
    }
    for row in (response, *Answer.objects.filter(response=response)):
        for field in row._meta.concrete_fields:
            value = getattr(row, field.attname)
            if field.is_relation and value is not None:
                target = field.related_model._meta.label_lower
                assert target in NON_PERSONAL | {"surveys.response"}, (field.name, target)
            if isinstance(field, models.DateTimeField):
                # No time to line up with: none, or the start of the response's period.
                assert value in (None, period_start), field.name
            if isinstance(value, dict | list):  # the hidden fields' values (data)
                text = json.dumps(value, ensure_ascii=False)
                assert not [item for item in identifying if item in text], field.name
                continue
            assert value not in identifying, field.name
    assert (response.person_id, response.invitation_id, response.resume_key) == (None, None, None)
    assert response.completed_on == period_start.date()
    # The invitation knows that it was answered and in which period, never which response or
    # when.
    assert invitation.state == InvitationState.RESPONDED
    assert not Response.objects.filter(invitation=invitation).exists()
    assert invitation.responded_at == invitation.opened_at == period_start


def test_a_named_survey_keeps_the_exact_times_and_the_link(db):
    world = build_world("clients", touchpoints=())
    person = make_person("c-1")
    invitation = submit_anonymously(world, person, "gold", "fine")

    response = Response.objects.get(survey=world.survey)
    assert (response.person_id, response.invitation_id) == (person.pk, invitation.pk)
    assert response.completed_at == invitation.responded_at
    assert invitation.responded_at.microsecond != 0 or invitation.responded_at.second != 0


def store_anonymously(world) -> None:  # noqa: ANN001
    """Give the world's responses the anonymous storage (surveys.periods): on their period's
    first day, without times; then release and publish that period, over since TODAY's month."""
    period = period_for(survey=world.survey, today=TODAY)
    Response.objects.filter(survey=world.survey).update(
        completed_on=period.starts_on, completed_at=None, started_at=None, released=False
    )
    periods_release(
        now=dt.datetime.combine(period.ends_on + dt.timedelta(days=1), dt.time(1), tzinfo=dt.UTC)
    )


@pytest.fixture
def departments(staff_survey):  # noqa: ANN201
    """sales 6, ops 7, legal 2: legal alone would be "all minus sales minus ops"."""
    for dept, values in {"sales": [10] * 6, "ops": [0] * 7, "legal": [0, 0]}.items():
        add_responses(staff_survey, nps_specs(values, segment=dept, comment=f"{dept} comment"))
    store_anonymously(staff_survey)
    first_day = TODAY.replace(day=1)
    rollups_rebuild(date_from=first_day, date_to=first_day)
    return staff_survey


@pytest.fixture
def hr(departments, django_user_model):  # noqa: ANN001, ANN201
    actor = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    user = staff_with_grant("hr", departments.audience, Role.ANALYST, actor)
    client = Client()
    client.force_login(user)
    return client


def test_subtraction_attack_on_department_slices_finds_the_complement_suppressed(departments, hr):
    page = "/admin/metrics/staff/"
    total = hr.get(page, {"period": "all"}).context["headline"]
    legal = hr.get(page, {"period": "all", "segment": "legal"}).context
    sales = hr.get(page, {"period": "all", "segment": "sales"}).context
    ops = hr.get(page, {"period": "all", "segment": "ops"}).context

    assert total["n"] == 15
    hidden = {"group": None, "suppressed": True, "empty": False, "n": 0}
    assert legal["headline"] == hidden
    # Sales is the complement that would reveal legal (15 − 7 − 6 = 2): hidden too.
    assert sales["headline"] == hidden
    assert (ops["headline"]["n"], ops["headline"]["score"]) == (7, -100.0)
    # What is left after subtracting every shown department is two departments mixed.
    assert total["n"] - ops["headline"]["n"] == 8
    for dept in ("legal", "sales"):
        text = hr.get(page, {"period": "all", "segment": dept}).content.decode()
        assert f"{dept} comment" not in text
    assert "ops comment" in hr.get(page, {"period": "all", "segment": "ops"}).content.decode()


def test_distribution_panel_hides_small_departments_and_their_complement(departments, hr):
    page = hr.get(f"/admin/surveys/distributionrule/panel/{departments.survey.pk}/")

    assert page.status_code == 200
    assert page.context["slices"] == [
        {"group": "legal", "suppressed": True},
        {"group": "ops", "n": 7},
        {"group": "sales", "suppressed": True},
    ]


def test_anonymous_export_blanks_small_departments_and_their_free_text(departments):
    """Below superuser the export is the period summary: no response row, day, segment,
    channel or touchpoint, and the comments pooled (shuffled) over the whole period, so
    legal's two are nobody's in particular."""
    rows = list(export_rows(survey=departments.survey))
    header, body = rows[0], rows[1:]

    assert header == SUMMARY_HEADER
    june = ["2026-06-01", "2026-06-30", 15]
    assert all(r[:3] == june for r in body)
    figures = [r[3:] for r in body if r[4] != "comment"]
    assert figures == [
        ["", "responses", "", 15],
        ["nps", "answers", "", 15],
        ["nps", "nps", "", -20.0],
        ["comment", "answers", "", 15],
    ]
    comments = sorted(r[6] for r in body if r[3:5] == ["comment", "comment"])
    assert comments == ["legal comment"] * 2 + ["ops comment"] * 7 + ["sales comment"] * 6
    assert not {"legal", "ops", "sales"} & {c for r in rows for c in r}
    # The superuser's per-response export still blanks legal and its complement, sales.
    full = list(export_rows(survey=departments.survey, full=True))
    segment, comment = full[0].index("segment"), full[0].index("comment")
    assert sorted({r[segment] for r in full[1:]}) == ["", "ops"]
    assert sorted({r[comment] for r in full[1:]}, key=str) == [None, "ops comment"]
    assert "person_external_id" not in full[0]


def test_anonymous_response_page_hides_free_text_of_a_small_department(
    departments, hr, django_user_model
):
    legal = Response.objects.filter(survey=departments.survey, segment="legal").first()
    ops = Response.objects.filter(survey=departments.survey, segment="ops").first()

    # One by one, an anonymous response is a 404 below superuser, like a missing one.
    for response in (legal, ops):
        assert hr.get(f"/admin/surveys/response/{response.pk}/change/").status_code == 404
    missing = Response.objects.order_by("-pk").values_list("pk", flat=True).first() + 1
    assert hr.get(f"/admin/surveys/response/{missing}/change/").status_code == 404
    summary = hr.get(f"/admin/surveys/response/summary/{departments.survey.pk}/")
    page = summary.content.decode()

    # The period's comments come pooled, without any department: legal's are not legal's.
    assert summary.status_code == 200
    for dept in ("legal", "ops", "sales"):
        assert f">{dept}<" not in page
        assert page.count(f"<li>{dept} comment</li>") == {"legal": 2, "ops": 7, "sales": 6}[dept]
    # The superuser's page of the legal response still hides its segment and text.
    root = Client()
    root.force_login(django_user_model.objects.get(username="root"))
    hidden = root.get(f"/admin/surveys/response/{legal.pk}/change/").content.decode()
    shown = root.get(f"/admin/surveys/response/{ops.pk}/change/").content.decode()
    assert "legal comment" not in hidden
    assert ">legal<" not in hidden
    assert "ops comment" in shown


def test_employee_surveys_are_always_anonymous(db):
    from surveys.admin.forms_builder import SurveyAdminForm
    from surveys.catalog import TEMPLATES, survey_create_from_template
    from tests.factories import make_audience

    staff = make_audience("staff", kind=AudienceKind.EMPLOYEE)
    named = next(key for key, t in TEMPLATES.items() if not t.anonymous)

    survey = survey_create_from_template(template_key=named, audience=staff, name=None)
    form = SurveyAdminForm(data={"name": "Pulse", "audience": staff.pk, "anonymous": ""})

    assert survey.anonymous is True
    assert form.is_valid() is False
    assert form.errors["anonymous"] == [
        "Surveys of an employee audience are always anonymous; tick “anonymous”."
    ]


def test_the_response_list_never_shows_an_anonymous_responses_segment(departments, hr):
    page = hr.get("/admin/surveys/response/").content.decode()

    for dept in ("legal", "ops", "sales"):
        assert f">{dept}<" not in page


def test_a_survey_under_the_threshold_shows_no_single_responses_answers(
    staff_survey, django_user_model
):
    """Four answers: the invitations say who the four are, so none of their answers shows."""
    add_responses(staff_survey, nps_specs([0, 10, 10, 10], segment="", comment="Kept quiet"))
    store_anonymously(staff_survey)  # the period ends with four waiting: never released
    actor = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(staff_with_grant("hr", staff_survey.audience, Role.ANALYST, actor))
    response = Response.objects.filter(survey=staff_survey.survey).order_by("pk").first()

    change = client.get(f"/admin/surveys/response/{response.pk}/change/")
    summary = client.get(f"/admin/surveys/response/summary/{staff_survey.survey.pk}/")
    page = summary.content.decode()

    assert (change.status_code, summary.status_code) == (404, 200)
    assert "Fewer than 5 responses released: nothing is shown." in page
    assert "Kept quiet" not in page
    assert 'class="xm-answers"' not in page
    assert list(export_rows(survey=staff_survey.survey)) == [SUMMARY_HEADER]  # the header only
    # Even the superuser's page of one of the four shows none of its answers.
    root = Client()
    root.force_login(actor)
    own = root.get(f"/admin/surveys/response/{response.pk}/change/").content.decode()
    assert "fewer responses than its audience" in own
    assert "Kept quiet" not in own
    assert 'class="xm-answers"' not in own
