"""Erasure and export of one person: everything personal goes, anonymous aggregates stay."""

import datetime as dt
import json

import pytest
from django.apps import apps
from django.db import connection, models

from audiences.models import Consent, Membership, Person
from audiences.selectors import person_export
from audiences.services import person_erase
from journeys.models import TouchpointEvent
from metrics.models import AlertRule, Case, CaseNote
from surveys.models import Answer, ContactLedger, Invitation, InvitationState, Response
from tests.factories import make_membership
from tests.metrics.closed_loop_support import open_case

pytestmark = pytest.mark.django_db

TEXT_FIELDS = (models.CharField, models.TextField, models.EmailField, models.JSONField)


def rows_containing(needle: str) -> list[str]:
    """`table.column` for every stored text (or JSON) value that contains `needle`."""
    found = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if not isinstance(field, TEXT_FIELDS):
                continue
            column = connection.ops.quote_name(field.column)
            table = connection.ops.quote_name(model._meta.db_table)
            cast = f"CAST({column} AS TEXT)" if isinstance(field, models.JSONField) else column
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT 1 FROM {table} WHERE {cast} LIKE %s", [f"%{needle}%"])  # noqa: S608
                if cursor.fetchone():
                    found.append(f"{model._meta.db_table}.{field.column}")
    return found


def test_erasure_leaves_no_table_with_the_persons_email(both):
    employees, customers = both
    person = customers["people"][0]
    make_membership(person, employees["audience"])  # one human, two audiences
    answer = Answer.objects.get(response__person=person, question__key="why")
    answer.text = f"write to me at {person.email}"
    answer.save()
    rule = AlertRule.objects.create(
        audience=customers["audience"], name="Detractors", condition="answer_lte", threshold=6
    )
    case = open_case(rule, title="Call back", due_in=dt.timedelta(days=1))
    Case.objects.filter(pk=case.pk).update(person=person, response=answer.response)
    CaseNote.objects.create(case=case, text=f"Called {person.name}, mail {person.email}")
    assert rows_containing(person.email) != []

    person_erase(person=person)

    assert rows_containing(person.email) == []
    assert rows_containing(person.name) == []
    assert not Person.objects.filter(pk=person.pk).exists()
    case.refresh_from_db()
    assert (case.person_id, case.notes.count()) == (None, 0)


def test_erasure_removes_personal_rows_and_unlinks_the_rest(customers):
    person = customers["people"][0]
    response = Response.objects.get(person=person)
    invitation = Invitation.objects.get(person=person)

    report = person_erase(person=person)

    assert (report.memberships, report.events, report.contacts) == (1, 1, 1)
    assert (report.invitations_unlinked, report.responses_unlinked) == (1, 1)
    assert report.free_text_answers == 1
    assert Membership.objects.filter(person_id=person.pk).count() == 0
    assert TouchpointEvent.objects.filter(person_id=person.pk).count() == 0
    assert ContactLedger.objects.filter(person_id=person.pk).count() == 0
    response.refresh_from_db()
    assert (response.person_id, response.invitation_id, response.completed_at) == (None, None, None)
    assert response.completed_on is not None
    assert list(response.answers.values_list("question__key", "number")) == [("nps", 9)]
    invitation.refresh_from_db()
    assert (invitation.person_id, invitation.event_id) == (None, None)
    assert invitation.state == InvitationState.RESPONDED


def test_erasure_keeps_other_people_and_anonymous_aggregates(both):
    employees, customers = both
    anonymous_answers = Answer.objects.filter(response__survey=employees["survey"]).count()

    person_erase(person=employees["people"][0])

    assert Answer.objects.filter(response__survey=employees["survey"]).count() == anonymous_answers
    assert Person.objects.count() == 11
    assert Response.objects.filter(person__isnull=False).count() == 6


def test_erasure_suppresses_unsent_invitations(customers):
    person = customers["people"][1]
    planned = Invitation.objects.filter(person=person).get()
    planned.state = InvitationState.PLANNED
    planned.save()

    person_erase(person=person)

    planned.refresh_from_db()
    assert (planned.state, planned.suppression_reason) == (InvitationState.SUPPRESSED, "erased")


def test_erasure_query_count_does_not_grow_with_history(customers, django_assert_max_num_queries):
    person = customers["people"][2]
    Consent.objects.create(person=person, channel="email", status="granted")
    with django_assert_max_num_queries(30):
        person_erase(person=person)


def test_export_holds_memberships_events_invitations_and_named_responses(both):
    employees, customers = both
    person = customers["people"][0]
    make_membership(person, employees["audience"], segment="HR")

    data = person_export(person=person)

    json.dumps(data)  # JSON-ready
    assert data["person"]["email"] == person.email
    assert sorted(m["audience"] for m in data["memberships"]) == ["customers", "employees"]
    assert [e["touchpoint"] for e in data["events"]] == ["customers-tp"]
    assert [i["state"] for i in data["invitations"]] == ["responded"]
    assert len(data["responses"]) == 1
    assert data["responses"][0]["answers"] == [
        {"question": "nps", "number": 9, "text": "", "choices": None},
        {"question": "why", "number": None, "text": "Kiwifalcon verbatim 0", "choices": None},
    ]


def test_export_of_an_anonymous_respondent_holds_no_response(employees):
    data = person_export(person=employees["people"][0])

    assert data["responses"] == []
    assert len(data["invitations"]) == 1


def test_export_reads_in_six_queries(customers, django_assert_num_queries):
    person = customers["people"][0]
    # memberships, consents, events, invitations, responses, answers
    with django_assert_num_queries(6):
        person_export(person=person)
