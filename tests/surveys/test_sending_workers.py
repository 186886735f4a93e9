"""Three real Celery workers dispatching overlapping waves and triggers (PostgreSQL + Redis).

Counted at a real SMTP server by X-Invitation-ID: nothing twice, nothing due left unsent, and
nobody over any fatigue limit, including after a worker is SIGKILLed mid-batch.
"""

import datetime
import os
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from audiences.models import Audience, Membership, Person
from journeys.models import TouchpointEvent
from surveys.distribution import fatigue, sending
from surveys.models import (
    ContactKind,
    ContactLedger,
    FatiguePolicy,
    Invitation,
    InvitationState,
    PriorityClass,
    RuleKind,
)
from surveys.tasks import dispatch_due_task, wave_run_task
from tests.factories import make_audience, make_touchpoint
from tests.support.workers import celery_workers, wait_until
from tests.surveys.distribution_factories import SmtpSink, make_rule, make_survey
from xmplatform.core.outbox import outbox_emit

PEOPLE = int(os.environ.get("DISTRIBUTION_TEST_PEOPLE", "10000"))

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _population(n: int) -> dict:
    """`n` customers; every third also an employee (one budget for both), with no quiet hours."""
    customers = make_audience("customers")
    staff = make_audience("staff", kind="employee")
    no_quiet = {"quiet_start": datetime.time(0), "quiet_end": datetime.time(0)}
    FatiguePolicy.objects.create(audience=None, **no_quiet)
    FatiguePolicy.objects.create(audience=staff, max_invitations=1, window_days=60, **no_quiet)
    Person.objects.bulk_create(
        [Person(external_id=f"w{i}", email=f"w{i}@example.com", time_zone="UTC") for i in range(n)],
        batch_size=5000,
    )
    ids = list(Person.objects.order_by("id").values_list("id", flat=True))
    Membership.objects.bulk_create(
        [Membership(person_id=pid, audience=customers) for pid in ids]
        + [Membership(person_id=pid, audience=staff) for pid in ids[::3]],
        batch_size=5000,
    )
    touchpoint = make_touchpoint(customers, slug="ticket-closed")
    nps = make_survey(customers, name="Relationship NPS")
    pulse = make_survey(staff, name="Pulse", priority_class=PriorityClass.RESEARCH)
    csat = make_survey(
        customers,
        name="Ticket CSAT",
        touchpoint=touchpoint,
        priority_class=PriorityClass.TRANSACTIONAL,
    )
    rules = [make_rule(nps), make_rule(pulse), make_rule(csat, RuleKind.TRIGGER)]
    now = timezone.now()
    TouchpointEvent.objects.bulk_create(
        [TouchpointEvent(person_id=pid, touchpoint=touchpoint, occurred_at=now) for pid in ids[::4]]
    )
    return {"rules": rules, "ids": ids, "touchpoint": touchpoint}


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _over_limit() -> list[int]:
    """People whose ledger breaks any policy that applies to them (replayed in Python)."""
    policies = fatigue.policies_load()
    audiences = defaultdict(set)
    for pid, aid in Membership.objects.values_list("person_id", "audience_id"):
        audiences[pid].add(aid)
    contacts = defaultdict(list)
    for pid, at, sid in (
        ContactLedger.objects.filter(kind=ContactKind.INVITATION)
        .order_by("at", "id")
        .values_list("person_id", "at", "survey_id")
    ):
        contacts[pid].append((at, sid))
    bad = []
    for pid, rows in contacts.items():
        for i, (at, sid) in enumerate(rows):
            facts = fatigue.Facts(person_id=pid, audience_ids=frozenset(audiences[pid]))
            facts.contacts = rows[:i]
            if fatigue.budget_reason(facts, policies, survey_id=sid, now=at):
                bad.append(pid)
                break
    return bad


def _sending() -> int:
    return Invitation.objects.filter(state=InvitationState.SENDING).count()


def _drain(deadline: float, *, killed: bool = False) -> None:
    """Tick the beat task until nothing is due and nothing is left in flight.

    Rows a killed worker left in `sending` stay there (until the reconciler), so after a kill
    "done" is: nothing due, and the in-flight count unchanged over three seconds (a batch
    still sending on a loaded machine changes it within that time). Without a kill nothing may
    stay in flight.
    """
    seen: list[int] = []
    while time.monotonic() < deadline:
        due = Invitation.objects.filter(
            state=InvitationState.PLANNED, due_at__lte=timezone.now()
        ).exists()
        in_flight = _sending()
        seen = [*seen[-2:], in_flight]
        settled = len(seen) == 3 and len(set(seen)) == 1 if killed else in_flight == 0
        if not due and settled:
            return
        if due:
            dispatch_due_task.delay()
        time.sleep(1.0)


def test_three_workers_send_overlapping_waves_and_triggers_exactly_once(needs_postgres):
    setup = _population(PEOPLE)
    started = time.monotonic()
    with (
        SmtpSink() as sink,
        celery_workers(3, extra_env={"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}),
    ):
        for rule in setup["rules"][:2]:
            wave_run_task.delay(rule.id)
        events = list(TouchpointEvent.objects.values_list("id", flat=True))
        for i in range(0, len(events), 500):
            # As journeys stores events: the workers' relay plans their invitations, then
            # sends those due now (invitation.due) alongside the beat's batches.
            with transaction.atomic():
                outbox_emit("event.recorded", event_ids=events[i : i + 500])
        expected = PEOPLE + (PEOPLE + 2) // 3 + (PEOPLE + 3) // 4
        assert wait_until(lambda: Invitation.objects.count() == expected, timeout=60)
        planned_in = time.monotonic() - started
        _drain(time.monotonic() + 150)
        assert wait_until(
            lambda: (
                len(sink.messages) == Invitation.objects.filter(state=InvitationState.SENT).count()
            ),
            timeout=10,
        )
    elapsed = time.monotonic() - started
    ids = sink.invitation_ids()
    states = Counter(Invitation.objects.values_list("state", flat=True))
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert len(ids) == states["sent"]
    assert states["sent"] > PEOPLE // 2
    assert states["sending"] == states["delivery_unknown"] == states["failed"] == 0
    assert not Invitation.objects.filter(
        state=InvitationState.PLANNED, due_at__lte=timezone.now()
    ).exists()
    assert _over_limit() == []
    # Every person got at most one message: min_gap (7 days) allows no second one today.
    per_person = Counter(ContactLedger.objects.values_list("person_id", flat=True))
    assert max(per_person.values()) == 1
    print(
        f"\n{PEOPLE} people: planned in {planned_in:.1f}s, {len(ids)} e-mails in {elapsed:.1f}s;"
        f" {Counter(Invitation.objects.values_list('survey__name', 'state', 'suppression_reason'))}"
    )


def test_sigkill_mid_batch_leaves_no_duplicate_and_nothing_silently_lost(needs_postgres):
    setup = _population(1500)
    nps = setup["rules"][0]
    with (
        SmtpSink(delay=0.01) as sink,
        celery_workers(3, extra_env={"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}) as workers,
    ):
        wave_run_task.delay(nps.id)
        assert wait_until(lambda: Invitation.objects.filter(rule=nps).count() == 1500, 60)
        dispatch_due_task.delay()
        # Wait until the victim is mid-batch: it holds claimed rows and mail is flowing.
        assert wait_until(lambda: len(sink.messages) >= 50, timeout=30)
        victim = workers[0]
        for child in _children(victim.pid):
            os.kill(child, signal.SIGKILL)
        os.kill(victim.pid, signal.SIGKILL)
        _drain(time.monotonic() + 60, killed=True)
    later = timezone.now() + sending.SENDING_TIMEOUT + datetime.timedelta(seconds=1)
    sending.invitations_reconcile(now=later)
    ids = sink.invitation_ids()
    states = Counter(Invitation.objects.filter(rule=nps).values_list("state", flat=True))
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert states["planned"] == states["sending"] == 0
    assert states["sent"] + states["delivery_unknown"] + states["suppressed"] == 1500
    assert states["delivery_unknown"] <= sending.BATCH  # only what was in flight at the kill
    sent_ids = set(
        str(i) for i in Invitation.objects.filter(state="sent").values_list("id", flat=True)
    )
    assert sent_ids <= set(ids)
    print(f"\nafter SIGKILL: {dict(states)}, {len(ids)} e-mails received")
    assert Audience.objects.count() == 2
