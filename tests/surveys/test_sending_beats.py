"""Two beat processes at once: every periodic task of distribution does its work once.

Each test runs one periodic task's body in two threads (two database connections) started
together, as two beats firing the same tick would. Claims are SKIP LOCKED or conditional, so
the second finds nothing left to do. Wave runs are covered in test_distribution_runs.
"""

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connection

from surveys.distribution import reminders, sending
from surveys.models import ContactLedger, Invitation, InvitationState, RuleKind
from surveys.tasks import dispatch_due_task, reconcile_sending_task
from tests.surveys.distribution_factories import (
    DAY,
    NOW,
    customers,
    make_invitation,
    make_rule,
    make_survey,
    member,
)

pytestmark = [pytest.mark.django_db(transaction=True)]


def twice_at_once(work: Callable[[], object]) -> list[object]:
    """Run `work` in two threads released together; returns what each returned."""
    barrier = threading.Barrier(2)
    out: list[object] = []

    def beat() -> None:
        barrier.wait()
        try:
            out.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_two_dispatch_ticks_at_once_send_each_invitation_once(needs_postgres):
    audience = customers()
    survey = make_survey(audience, name="Relationship NPS")
    for i in range(250):  # more than a batch: both ticks fan out batch tasks
        make_invitation(survey, member(audience, f"d{i}"))
    twice_at_once(lambda: dispatch_due_task(now=NOW.isoformat()))
    ids = [m.extra_headers["X-Invitation-ID"] for m in mail.outbox]
    assert (len(ids), len(set(ids))) == (250, 250)
    assert Counter(Invitation.objects.values_list("state", flat=True)) == {"sent": 250}
    assert ContactLedger.objects.count() == 250


def test_two_reconcilers_at_once_mark_each_stuck_invitation_once(needs_postgres):
    audience = customers()
    survey = make_survey(audience, name="Relationship NPS")
    stuck = NOW - sending.SENDING_TIMEOUT - DAY
    for i in range(20):
        make_invitation(
            survey, member(audience, f"s{i}"), state=InvitationState.SENDING, claimed_at=stuck
        )
    assert sorted(twice_at_once(reconcile_sending_task)) == [0, 20]
    assert Counter(Invitation.objects.values_list("state", flat=True)) == {"delivery_unknown": 20}


def test_two_reminder_ticks_at_once_remind_each_invitation_once(needs_postgres):
    audience = customers()
    survey = make_survey(audience, name="Relationship NPS")
    rule = make_rule(survey, RuleKind.WAVE, reminder_count=2, reminder_after_days=3)
    for i in range(30):
        make_invitation(
            survey,
            member(audience, f"r{i}"),
            rule=rule,
            state=InvitationState.SENT,
            sent_at=NOW - 4 * DAY,
            expires_at=NOW + 10 * DAY,
        )
    assert sum(twice_at_once(lambda: reminders.reminders_send(now=NOW))) == 30
    ids = [m.extra_headers["X-Invitation-ID"] for m in mail.outbox]
    assert (len(ids), len(set(ids))) == (30, 30)
    assert set(Invitation.objects.values_list("reminders_sent", flat=True)) == {1}
    assert ContactLedger.objects.filter(kind="reminder").count() == 30
