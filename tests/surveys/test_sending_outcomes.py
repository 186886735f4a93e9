"""Recording what the provider accepted: as it goes, and again after a lost database connection."""

import threading
from collections import Counter

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import OperationalError, connection, connections

from surveys.distribution import sending
from surveys.distribution.channels import Outcome, Result
from surveys.models import Invitation
from tests.surveys.distribution_factories import (
    NOW,
    customers,
    make_invitation,
    make_survey,
    member,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def due():
    audience = customers()
    survey = make_survey(audience, name="Relationship NPS")
    return [make_invitation(survey, member(audience, f"p{i}")) for i in range(5)]


@pytest.fixture
def waits(monkeypatch):
    """The back-off waits, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(sending.time, "sleep", slept.append)
    return slept


def states() -> dict[str, int]:
    return dict(Counter(Invitation.objects.values_list("state", flat=True)))


def failing_writes(monkeypatch, times: int) -> list[int]:  # noqa: ANN001
    """Make the first `times` outcome writes fail as a lost connection does; returns the
    number of each write attempt's results."""
    real = sending.invitations_record
    calls: list[int] = []

    def record(*, results, now):  # noqa: ANN001, ANN202
        calls.append(len(results))
        if len(calls) <= times:
            raise OperationalError("server closed the connection unexpectedly")
        return real(results=results, now=now)

    monkeypatch.setattr(sending, "invitations_record", record)
    return calls


def test_a_lost_connection_when_the_outcome_is_written_is_retried(due, monkeypatch, waits):
    calls = failing_writes(monkeypatch, times=2)
    counts = sending.dispatch_batch(now=NOW)
    assert (counts["claimed"], counts["sent"]) == (5, 5)
    assert states() == {"sent": 5}
    assert calls == [5, 5, 5]
    assert waits == [0.25, 0.5]
    assert len(mail.outbox) == 5


def test_outcomes_the_database_never_took_stay_sending_for_the_reconciler(due, monkeypatch, waits):
    calls = failing_writes(monkeypatch, times=99)
    with pytest.raises(OperationalError):
        sending.dispatch_batch(now=NOW)
    assert len(calls) == sending.WRITE_RETRIES + 1
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0]
    # Handed over but unrecorded: never sent again, delivery unknown after the timeout.
    assert states() == {"sending": 5}
    assert len(mail.outbox) == 5
    later = NOW + sending.SENDING_TIMEOUT + sending.SENDING_TIMEOUT
    assert sending.invitations_reconcile(now=later) == 5


def test_a_failure_that_is_not_a_lost_connection_is_not_retried(due, monkeypatch, waits):
    def record(*, results, now):  # noqa: ANN001, ANN202
        raise ValueError("a bug, not an outage")

    monkeypatch.setattr(sending, "invitations_record", record)
    with pytest.raises(ValueError, match="a bug"):
        sending.dispatch_batch(now=NOW)
    assert waits == []


def test_each_outcome_is_recorded_as_the_provider_accepts_it(due, monkeypatch):
    monkeypatch.setattr(sending, "FLUSH_EVERY", 0.0)
    seen: list[list[str]] = []
    real = EmailBackend.send_messages

    def send_messages(self, messages):  # noqa: ANN001, ANN202
        # What the database holds as each message is handed over: those before it are sent.
        seen.append(sorted(Invitation.objects.values_list("state", flat=True)))
        return real(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    sending.dispatch_batch(now=NOW)
    assert [row.count("sent") for row in seen] == [0, 1, 2, 3, 4]
    assert states() == {"sent": 5}


def test_within_a_second_the_batch_is_recorded_in_one_write(due, monkeypatch):
    calls = failing_writes(monkeypatch, times=0)
    sending.dispatch_batch(now=NOW)
    assert calls == [5]


class ReportsAtTheEnd:
    """A channel backend that reports nothing as it goes (no `on_result`)."""

    def send(self, invitations, *, reminder=False):  # noqa: ANN001, ANN201
        return [Result(i.id, Outcome.SENT, message_id=f"x-{i.id}") for i in invitations]


def test_a_backend_that_reports_only_at_the_end_is_recorded_at_the_end(due, settings):
    settings.SURVEY_CHANNEL_BACKENDS = {"email": f"{__name__}.ReportsAtTheEnd"}
    counts = sending.dispatch_batch(now=NOW)
    assert counts["sent"] == 5
    assert sorted(Invitation.objects.values_list("message_id", flat=True)) == sorted(
        f"x-{i.id}" for i in due
    )


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_killed_as_the_outcome_is_written_leaves_them_sent(
    needs_postgres, monkeypatch, waits
):
    audience = customers()
    survey = make_survey(audience, name="Relationship NPS")
    for i in range(5):
        make_invitation(survey, member(audience, f"k{i}"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (ours,) = cursor.fetchone()
    real = sending.invitations_record
    killed: list[bool] = []

    def terminate() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [ours])
                killed.append(cursor.fetchone()[0])
        finally:
            connections["default"].close()

    def record(*, results, now):  # noqa: ANN001, ANN202
        if not killed:  # as a PostgreSQL restart would, right when the outcome is written
            thread = threading.Thread(target=terminate)
            thread.start()
            thread.join()
        return real(results=results, now=now)

    monkeypatch.setattr(sending, "invitations_record", record)
    counts = sending.dispatch_batch(now=NOW)
    assert killed == [True]
    assert len(waits) == 1  # one lost write, then a fresh connection
    assert (counts["claimed"], counts["sent"]) == (5, 5)
    assert states() == {"sent": 5}
    assert len(mail.outbox) == 5
