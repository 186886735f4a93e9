"""Erasure and export of one person: everything personal goes, anonymous aggregates stay.

An erasure starts in audiences and is finished by the apps above through the outbox
(`person.erased`); `erase` runs it the way production does, the relay included.
"""

import datetime as dt
import json

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from audiences.models import AuditAction, AuditLog, Consent, Membership, Person
from audiences.services import person_erase
from journeys.models import TouchpointEvent
from journeys.services import record_event
from metrics.models import AlertRule, Case, CaseNote
from surveys.models import Answer, ContactLedger, Invitation, InvitationState, Response
from tests.factories import make_membership
from tests.metrics.closed_loop_support import open_case
from xmplatform.core.models import OutboxMessage
from xmplatform.core.outbox import outbox_relay
from xmplatform.people import person_export

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


def erase(person: Person) -> dict[str, int]:
    """Erase `person` and relay the outbox after commit; what the apps above reported."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        person_erase(person_id=person.pk, actor=None, actor_name="test")
    # One completion entry per audience of the person, each with the same counts.
    first, *others = AuditLog.objects.filter(
        action=AuditAction.PERSON_ERASURE_COMPLETED, target=f"person {person.pk}"
    ).values_list("detail", flat=True)
    assert all(detail == first for detail in others)
    return first


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

    erase(person)

    assert rows_containing(person.email) == []
    assert rows_containing(person.name) == []
    assert not Person.objects.filter(pk=person.pk).exists()
    case.refresh_from_db()
    assert (case.person_id, case.notes.count()) == (None, 0)


def test_erasure_removes_personal_rows_and_unlinks_the_rest(customers):
    person = customers["people"][0]
    response = Response.objects.get(person=person)
    invitation = Invitation.objects.get(person=person)

    counts = erase(person)

    assert counts == {
        "webhook_deliveries": 0,
        "case_notes": 0,
        "cases_unlinked": 0,
        "contacts": 1,
        "free_text_answers": 1,
        "responses_unlinked": 1,
        "invitations_unlinked": 1,
        "events": 1,
    }
    assert AuditLog.objects.get(action=AuditAction.PERSON_ERASED).detail == {
        "memberships": 1,
        "consents": 0,
        "admin_log_entries": 0,
    }
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

    erase(employees["people"][0])

    assert Answer.objects.filter(response__survey=employees["survey"]).count() == anonymous_answers
    assert Person.objects.count() == 11
    assert Response.objects.filter(person__isnull=False).count() == 6


def test_erasure_suppresses_unsent_invitations(customers):
    person = customers["people"][1]
    planned = Invitation.objects.filter(person=person).get()
    planned.state = InvitationState.PLANNED
    planned.save()

    erase(person)

    planned.refresh_from_db()
    assert (planned.state, planned.suppression_reason) == (InvitationState.SUPPRESSED, "erased")


def _queries_to_erase(person: Person) -> tuple[int, int]:
    """Statements of the erasure's start, and of its relayed rest (the outbox row included).

    Django's content-type cache is filled first: whether an earlier test in the same worker
    filled it is no part of what is counted."""
    ContentType.objects.get_for_model(Person)
    OutboxMessage.objects.all().delete()
    with CaptureQueriesContext(connection) as started:
        person_erase(person_id=person.pk, actor=None)
    with CaptureQueriesContext(connection) as finished:
        assert outbox_relay() == 1
    return len(started.captured_queries), len(finished.captured_queries)


def test_erasure_query_count_does_not_grow_with_history(customers):
    few = customers["people"][2]
    many = customers["people"][3]
    touchpoint = TouchpointEvent.objects.filter(person=many).get().touchpoint
    TouchpointEvent.objects.bulk_create(
        TouchpointEvent(person=many, touchpoint=touchpoint, occurred_at=dt.datetime.now(dt.UTC))
        for _ in range(20)
    )
    for channel in ("email", "sms", "whatsapp"):
        Consent.objects.create(person=many, channel=channel, status="granted")

    assert _queries_to_erase(few) == _queries_to_erase(many)


def test_export_holds_memberships_events_invitations_and_named_responses(both):
    employees, customers = both
    person = customers["people"][0]
    make_membership(person, employees["audience"], segment="HR")

    data = person_export(person_id=person.pk)

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
    data = person_export(person_id=employees["people"][0].pk)

    assert data["responses"] == []
    assert len(data["invitations"]) == 1


def test_export_reads_in_seven_queries(customers, django_assert_num_queries):
    person = customers["people"][0]
    # the person, memberships, consents (audiences); events (journeys); invitations, responses,
    # answers (surveys)
    with django_assert_num_queries(7):
        person_export(person_id=person.pk)


def test_an_erasure_empties_the_person_at_once_and_the_apps_above_finish_it(customers):
    person = customers["people"][0]

    report = person_erase(person_id=person.pk, actor=None, actor_name="CRM")

    shell = Person.objects.get(pk=person.pk)
    assert (shell.name, shell.email, shell.phone, shell.erased_at is not None) == (
        "",
        "",
        "",
        True,
    )
    assert shell.external_id.startswith("erased-") and len(shell.external_id) == 39
    assert (report.memberships, report.consents, report.started) == (1, 0, True)
    assert Membership.objects.filter(person_id=person.pk).count() == 0
    # Until the relay runs, the rows above still point at the person, for their apps to find.
    assert Response.objects.filter(person_id=person.pk).count() == 1
    assert list(OutboxMessage.objects.values_list("event", "payload")) == [
        ("person.erased", {"person_id": person.pk})
    ]

    assert outbox_relay() == 1

    assert not Person.objects.filter(pk=person.pk).exists()
    assert Response.objects.filter(person_id=person.pk).count() == 0
    assert list(
        AuditLog.objects.order_by("id").values_list("action", "actor_username", "audience__slug")
    ) == [
        (AuditAction.PERSON_ERASED, "CRM", "customers"),
        (AuditAction.PERSON_ERASURE_COMPLETED, "CRM", "customers"),
    ]


def test_erasing_a_person_already_on_the_way_out_changes_nothing(customers):
    person = customers["people"][0]
    person_erase(person_id=person.pk, actor=None)

    again = person_erase(person_id=person.pk, actor=None)

    assert (again.started, again.memberships) == (False, 0)
    assert AuditLog.objects.filter(action=AuditAction.PERSON_ERASED).count() == 1
    assert OutboxMessage.objects.count() == 1


def test_a_failing_app_undoes_the_whole_rest_and_is_retried(customers, monkeypatch):
    person = customers["people"][0]
    person_erase(person_id=person.pk, actor=None)

    def broken(*, person_id: int) -> dict[str, int]:
        raise RuntimeError("journeys is down")

    monkeypatch.setattr("xmplatform.people.journeys_person_erase", broken)
    outbox_relay()

    # The apps that ran before the failure undid their part: nothing is half erased.
    assert Response.objects.filter(person_id=person.pk).count() == 1
    message = OutboxMessage.objects.get()
    assert (message.state, message.attempts) == ("pending", 1)
    assert "journeys is down" in message.last_error

    monkeypatch.undo()
    OutboxMessage.objects.update(available_at=message.created_at)
    assert outbox_relay() == 1
    assert not Person.objects.filter(pk=person.pk).exists()


def test_what_arrives_for_the_person_while_the_erasure_runs_goes_with_them(customers):
    person = customers["people"][0]
    touchpoint = TouchpointEvent.objects.filter(person=person).get().touchpoint
    person_erase(person_id=person.pk, actor=None)
    shell = Person.objects.get(pk=person.pk)
    late, _created = record_event(
        person=shell, touchpoint=touchpoint, occurred_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    )

    outbox_relay()

    assert not Person.objects.filter(pk=person.pk).exists()
    assert not TouchpointEvent.objects.filter(pk=late.pk).exists()
    assert OutboxMessage.objects.exclude(state="done").count() == 0
