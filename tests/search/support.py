"""The cast and data the search and timeline tests share (this module has no tests).

A customer audience and an employee audience; an analyst of the customers, an HR analyst of
the employees; a person who is both a customer and an employee.
"""

import datetime as dt
from typing import Any

from django.utils import timezone

from audiences.models import AudienceGrant, AudienceKind, Role
from metrics.models import Alert, AlertRule, Case, CaseNote, NotifyMode
from tests.factories import make_audience, make_membership, make_person, make_user


def analyst(username: str, *audiences: Any, role: int = Role.ANALYST) -> Any:
    """A staff user with `role` on each of `audiences` (and nothing else)."""
    user = make_user(username, is_staff=True)
    for audience in audiences:
        AudienceGrant.objects.create(user=user, audience=audience, role=role)
    return user


def two_audiences() -> tuple[Any, Any]:
    customers = make_audience("customers", name="Customers")
    employees = make_audience("employees", AudienceKind.EMPLOYEE, name="Employees")
    return customers, employees


def member(external_id: str, *audiences: Any, **fields: Any) -> Any:
    """A person in each of `audiences`."""
    person = make_person(external_id, **fields)
    for audience in audiences:
        make_membership(person, audience)
    return person


def case_for(
    audience: Any, *, title: str, person: Any = None, response: Any = None, notes: tuple = ()
) -> Case:
    """An open case of a response rule on `audience`, with `notes`."""
    rule = AlertRule.objects.create(
        audience=audience,
        name=f"Detractors {Alert.objects.count()}",
        condition="answer_lte",
        question_type="nps",
        threshold=6,
        notify=NotifyMode.NONE,
    )
    now = timezone.now()
    alert = Alert.objects.create(
        rule=rule,
        audience=audience,
        response=response,
        summary=title,
        opened_at=now,
        notify=NotifyMode.NONE,
    )
    case = Case.objects.create(
        alert=alert,
        audience=audience,
        response=response,
        person=person,
        title=title,
        assignee=audience.owner,
        opened_at=now - dt.timedelta(hours=1),
        due_at=now + dt.timedelta(days=1),
    )
    CaseNote.objects.bulk_create([CaseNote(case=case, text=text) for text in notes])
    return case
