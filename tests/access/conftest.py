"""The cast for access tests: an HR team that sees employees only, a CX team that sees customers.

Every seeded value of one audience carries a distinctive marker, so a page that leaks another
audience's person, answer or count is found by searching the HTML for the marker.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from audiences.models import Audience, AudienceKind, Role
from audiences.services import grant_set
from journeys.models import TouchpointEvent
from metrics.models import AlertRule, CaseNote
from metrics.services import rollups_rebuild
from surveys.models import (
    Answer,
    ContactKind,
    ContactLedger,
    InvitationState,
    Question,
    QuestionType,
    Response,
)
from tests.factories import make_audience, make_membership, make_person, make_touchpoint
from tests.metrics.closed_loop_support import open_case
from tests.surveys.distribution_factories import make_invitation, make_survey

EMPLOYEE_MARK = "Zebraquartz"
CUSTOMER_MARK = "Kiwifalcon"


def seed_audience(audience: Audience, mark: str, *, anonymous: bool, people: int = 6) -> dict:
    """People, a journey, a survey with an NPS and a free-text question, answered by all."""
    touchpoint = make_touchpoint(audience, slug=f"{audience.slug}-tp")
    touchpoint.name = f"{mark} Touchpoint"
    touchpoint.save(update_fields=["name"])
    survey = make_survey(audience, name=f"{mark} Survey", anonymous=anonymous)
    nps = Question.objects.create(
        survey=survey, order=1, key="nps", type=QuestionType.NPS, label={"en": "NPS"}
    )
    text = Question.objects.create(
        survey=survey, order=2, key="why", type=QuestionType.TEXT, label={"en": "Why?"}
    )
    today = timezone.localdate()
    persons = []
    for i in range(people):
        person = make_person(
            f"{mark.lower()}-{i}", name=f"{mark} Person{i}", email=f"{mark.lower()}{i}@example.com"
        )
        make_membership(person, audience, segment=f"{mark}Dept")
        event = TouchpointEvent.objects.create(
            person=person, touchpoint=touchpoint, occurred_at=timezone.now()
        )
        invitation = make_invitation(
            survey,
            person,
            event=event,
            state=InvitationState.RESPONDED,
            sent_at=timezone.now(),
            responded_at=timezone.now(),
        )
        ContactLedger.objects.create(
            person=person,
            invitation=invitation,
            survey=survey,
            kind=ContactKind.INVITATION,
            channel="email",
            at=timezone.now(),
        )
        response = Response.objects.create(
            survey=survey,
            audience=audience,
            touchpoint=touchpoint,
            person=None if anonymous else person,
            invitation=None if anonymous else invitation,
            channel="email",
            language="en",
            segment=f"{mark}Dept",
            completed_on=today,
            completed_at=None if anonymous else timezone.now(),
        )
        Answer.objects.create(response=response, question=nps, number=9)
        Answer.objects.create(response=response, question=text, text=f"{mark} verbatim {i}")
        persons.append(person)
    return {
        "audience": audience,
        "survey": survey,
        "touchpoint": touchpoint,
        "people": persons,
    }


@pytest.fixture
def employees(db) -> dict:  # noqa: ANN001
    audience = make_audience("employees", kind=AudienceKind.EMPLOYEE, name=f"{EMPLOYEE_MARK} Staff")
    return seed_audience(audience, EMPLOYEE_MARK, anonymous=True)


@pytest.fixture
def customers(db) -> dict:  # noqa: ANN001
    audience = make_audience("customers", name=f"{CUSTOMER_MARK} Clients")
    return seed_audience(audience, CUSTOMER_MARK, anonymous=False)


def seed_closed_loop(data: dict, mark: str) -> None:
    """An alert rule, an alert and its case with a note, all carrying the marker."""
    rule = AlertRule.objects.create(
        audience=data["audience"], name=f"{mark} rule", condition="answer_lte", threshold=6
    )
    case = open_case(rule, title=f"{mark} case", due_in=dt.timedelta(days=1))
    CaseNote.objects.create(case=case, text=f"{mark} note")
    data["case"] = case


@pytest.fixture
def both(employees: dict, customers: dict) -> tuple[dict, dict]:
    """Both audiences with responses, daily rollups and a follow-up case each."""
    seed_closed_loop(employees, EMPLOYEE_MARK)
    seed_closed_loop(customers, CUSTOMER_MARK)
    rollups_rebuild(date_from=timezone.localdate(), date_to=timezone.localdate())
    return employees, customers


@pytest.fixture
def superuser(django_user_model):  # noqa: ANN001, ANN201
    return django_user_model.objects.create_superuser(
        username="xm.manager", email="xm@example.com", password="correct-horse-battery"
    )


def staff_with_grant(username: str, audience: Audience, role: int, actor):  # noqa: ANN001, ANN201
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password="correct-horse-battery"
    )
    grant_set(user=user, audience=audience, role=role, actor=actor)
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def hr_analyst(both, superuser):  # noqa: ANN001, ANN201
    """Sees the employee audience only, with its responses."""
    return staff_with_grant("hr.analyst", both[0]["audience"], Role.ANALYST, superuser)


@pytest.fixture
def cx_analyst(both, superuser):  # noqa: ANN001, ANN201
    """Sees the customer audience only, with its responses."""
    return staff_with_grant("cx.analyst", both[1]["audience"], Role.ANALYST, superuser)


@pytest.fixture
def cx_viewer(both, superuser):  # noqa: ANN001, ANN201
    """Sees the customer audience's scores only."""
    return staff_with_grant("cx.viewer", both[1]["audience"], Role.VIEWER, superuser)


@pytest.fixture
def cx_manager(both, superuser):  # noqa: ANN001, ANN201
    """Configures the customer audience's journeys, surveys and distribution."""
    return staff_with_grant("cx.manager", both[1]["audience"], Role.MANAGER, superuser)


@pytest.fixture
def hr_manager(both, superuser):  # noqa: ANN001, ANN201
    """Configures the employee audience's journeys, surveys and distribution."""
    return staff_with_grant("hr.manager", both[0]["audience"], Role.MANAGER, superuser)
