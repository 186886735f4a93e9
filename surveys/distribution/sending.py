"""Sending exactly once: claim due invitations, admit them through the guard, deliver, reconcile.

The claim pattern: in one short transaction a worker takes up to `limit` due invitations with
`SELECT … FOR UPDATE SKIP LOCKED`, locks their people in id order, runs the fatigue guard
against the contact ledger, marks the admitted ones `sending` and writes their ledger entries.
It commits, and only then talks to the SMTP server or provider. Two workers can therefore never
both admit one person over the cap (the second waits for the person lock and then sees the
first one's ledger entry), and never both send one invitation.

Reconciler policy (`invitations_reconcile`): an invitation still `sending` after
`SENDING_TIMEOUT` belongs to a worker that died mid-batch; it may or may not have left, so it
becomes `delivery_unknown` and is never re-sent automatically (a duplicate would break the
fatigue promise). Its ledger entry stays, so it keeps counting against the person's budget.
An operator resolves it on the admin's "Delivery unknown" page after checking the provider's
logs: sent (it arrived), failed (it did not; the budget is freed) or resend (it did not; it is
planned again through the guard). An opened or answered one moves on by itself (the hosted
page marks it opened).

Outcomes are recorded as the provider accepts the messages, at most FLUSH_EVERY apart, and each
write is retried with a fresh connection when the database connection was lost (a restart of
a few seconds): what the provider accepted stays `sent`, never "delivery unknown" for want of
a write. Invitations planned due now owe an `invitation.due` outbox row; its handler sends them
at once (`dispatch_now`), and the beat's minute (`dispatch_due_task`) sends the rest.
"""

import datetime
import functools
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import CharField, F, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.distribution import channels, fatigue
from surveys.models import (
    ContactKind,
    ContactLedger,
    Invitation,
    InvitationState,
    Survey,
    SurveyStatus,
)
from xmplatform.core.outbox import outbox_emit

logger = logging.getLogger(__name__)
T = TypeVar("T")

BATCH = 200
SENDING_TIMEOUT = datetime.timedelta(minutes=15)
RETRY_AFTER = datetime.timedelta(minutes=5)
MAX_ATTEMPTS = 5
# What the provider accepted is written at least this often (seconds) while a batch is sent.
FLUSH_EVERY = 1.0
# A write that lost its connection is retried this many times, after 0.25, 0.5, 1, 2 and 4 s:
# a database restart of a few seconds costs a pause, not a batch of "delivery unknown".
WRITE_RETRIES = 5
WRITE_FIRST_WAIT = 0.25
# A dispatch for invitations due now (the invitation.due handler) sends this many batches at
# most; the beat's minute fans out the rest.
NOW_BATCHES = 5
# Contacts this recent were made by the same dispatch cycle (this batch or a parallel one):
# an invitation they block competed with them and is deferred, not suppressed.
COMPETITION_WINDOW = datetime.timedelta(minutes=10)


@dataclass
class Admission:
    """What one claim did: ids now `sending`, and counts of the rest."""

    sending: list[int] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    deferred: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def _suppress(inv: Invitation, reason: str, result: Admission) -> None:
    inv.state = InvitationState.SUPPRESSED
    inv.suppression_reason = reason
    result.suppressed[reason] += 1


def _defer(inv: Invitation, until: datetime.datetime, reason: str, result: Admission) -> None:
    inv.due_at = until
    inv.defer_count += 1
    inv.last_defer_reason = reason
    result.deferred[reason] += 1


@transaction.atomic
def invitations_admit(*, now: datetime.datetime, limit: int = BATCH) -> Admission:
    """Claim up to `limit` due invitations and run the guard; admitted ones become `sending`.

    Locks: the claimed invitation rows (skip-locked, so workers take disjoint batches) and then
    their people, ordered by id (so two batches sharing people queue instead of deadlocking).
    The highest priority class is claimed and admitted first; a competitor for the same person
    in the same cycle is deferred until the budget allows (up to its expiry), not dropped.
    """
    invitations = _claim(now=now, limit=limit)
    result = Admission()
    if not invitations:
        return result
    person_ids = sorted({i.person_id for i in invitations if i.person_id})
    people = fatigue.people_lock(person_ids)
    policies = fatigue.policies_load()
    facts = fatigue.facts_load(person_ids, policies=policies, now=now, contactable=people)
    reach = fatigue.reach_load(person_ids, contactable=people)
    deliverable = channels.backends()
    for inv in invitations:
        if inv.person_id is None:
            _suppress(inv, fatigue.NO_ADDRESS, result)
            continue
        if inv.expires_at is not None and inv.expires_at <= now:
            _suppress(inv, fatigue.EXPIRED, result)
            continue
        if inv.survey.status != SurveyStatus.LIVE:
            _suppress(inv, fatigue.SURVEY_CLOSED, result)
            continue
        if inv.channel not in deliverable:
            # No provider for the channel (WhatsApp switched off after planning): say so at
            # once rather than retry it five times and fail.
            _suppress(inv, fatigue.NO_CHANNEL, result)
            continue
        reason = fatigue.channel_reason(
            reach[inv.person_id].get(inv.channel, fatigue.Reach(False, False, False)),
            requires_opt_in=inv.survey.audience.requires_opt_in,
        )
        current = facts[inv.person_id]
        settled = fatigue.settled(current, since=now - COMPETITION_WINDOW)
        reason = reason or fatigue.budget_reason(
            settled, policies, survey_id=inv.survey_id, now=now
        )
        if reason:
            _suppress(inv, reason, result)
            continue
        if fatigue.budget_reason(current, policies, survey_id=inv.survey_id, now=now):
            # Only this cycle's winners (this batch or a parallel one) stand in the way:
            # wait for the budget, until expiry.
            until = fatigue.budget_free_at(current, policies, survey_id=inv.survey_id, now=now)
            if inv.expires_at is not None and until >= inv.expires_at:
                reason = fatigue.budget_reason(current, policies, survey_id=inv.survey_id, now=now)
                _suppress(inv, reason or fatigue.EXPIRED, result)
            else:
                _defer(inv, until, fatigue.PRIORITY, result)
            continue
        quiet = fatigue.quiet_until(current, policies, now=now)
        if quiet is not None:
            _defer(inv, quiet, fatigue.QUIET_HOURS, result)
            continue
        inv.state = InvitationState.SENDING
        facts[inv.person_id] = fatigue.with_contact(current, at=now, survey_id=inv.survey_id)
        result.sending.append(inv.id)
    _write_outcomes(invitations, now=now)
    _ledger_write(result.sending, now=now)
    return result


def _claim(*, now: datetime.datetime, limit: int) -> list[Invitation]:
    """Lock up to `limit` due invitations (skip-locked), the highest priority class first.

    Surveys are taken in (priority class, next due) order and each one's due invitations in
    due order, through the (survey, state, due_at, id) index: a claim reads what it takes,
    however large the backlog (sorting every due invitation by its survey's class would cost
    seconds per batch after a wave of a million). One query for the order of the surveys,
    then one per survey the batch reaches into. The batch comes back as the guard takes it:
    by class, then due time, then id.
    """
    first_due = Invitation.objects.filter(
        survey=OuterRef("pk"), state=InvitationState.PLANNED, due_at__lte=now
    ).order_by("due_at")
    surveys = list(
        Survey.objects.annotate(first_due=Subquery(first_due.values("due_at")[:1]))
        .filter(first_due__isnull=False)
        .order_by("-priority_class", "first_due", "id")
        .values_list("id", flat=True)
    )
    claimed: list[Invitation] = []
    for survey_id in surveys:
        claimed += (
            Invitation.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(survey_id=survey_id, state=InvitationState.PLANNED, due_at__lte=now)
            .order_by("due_at", "id")[: limit - len(claimed)]
        )
        if len(claimed) >= limit:
            break
    _attach_surveys(claimed)
    claimed.sort(key=lambda i: (-i.survey.priority_class, i.due_at, i.id))
    return claimed


def _attach_surveys(invitations: Sequence[Invitation]) -> None:
    """Give each invitation its survey (and audience) from one query: a batch spans a few
    surveys, and select_related would build one copy per row."""
    surveys = Survey.objects.select_related("audience").in_bulk({i.survey_id for i in invitations})
    for inv in invitations:
        inv.survey = surveys[inv.survey_id]


def _ledger_write(ids: Sequence[int], *, now: datetime.datetime) -> None:
    """One contact-ledger entry per admitted invitation, written from the invitations in SQL."""
    if not ids:
        return
    ledger = ContactLedger._meta.db_table
    table = Invitation._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ledger} (person_id, invitation_id, survey_id, kind, channel, at)"  # noqa: S608
            f" SELECT person_id, id, survey_id, %s, channel, %s FROM {table} WHERE id IN ({marks})",
            [ContactKind.INVITATION.value, connection.ops.adapt_datetimefield_value(now), *ids],
        )


def _write_outcomes(invitations: Sequence[Invitation], *, now: datetime.datetime) -> None:
    """One UPDATE per distinct outcome (admitted, each reason, each new due time).

    Outcomes cluster (quiet hours end on the hour, deferrals share one budget date), so this
    stays a handful of statements; bulk_update's per-row CASE is far slower at batch size.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for inv in invitations:
        if inv.state == InvitationState.SENDING:
            groups[("sending",)].append(inv.id)
        elif inv.state == InvitationState.SUPPRESSED:
            groups[("suppressed", inv.suppression_reason)].append(inv.id)
        else:
            groups[("deferred", inv.due_at, inv.last_defer_reason)].append(inv.id)
    for key, ids in groups.items():
        rows = Invitation.objects.filter(id__in=ids)
        if key[0] == "sending":
            rows.update(state=key[0], claimed_at=now, attempts=F("attempts") + 1)
        elif key[0] == "suppressed":
            rows.update(state=key[0], suppression_reason=key[1])
        else:
            rows.update(due_at=key[1], last_defer_reason=key[2], defer_count=F("defer_count") + 1)


def throttle_take(n: int) -> int:
    """Take up to `n` send tokens from the global per-second bucket (shared through the cache).

    settings.SURVEY_SENDS_PER_SECOND (0 = unlimited) caps all workers together; Celery's own
    rate_limit would count per worker.
    """
    rate = int(getattr(settings, "SURVEY_SENDS_PER_SECOND", 0) or 0)
    if rate <= 0:
        return n
    key = f"surveys:send-bucket:{int(timezone.now().timestamp())}"
    cache.add(key, 0, timeout=5)
    used = cache.incr(key, n)
    return max(0, min(n, rate - (used - n)))


def invitations_deliver(*, ids: Sequence[int], now: datetime.datetime | None = None) -> dict:
    """Send claimed (`sending`) invitations and record each outcome; returns counts.

    Called after the claim committed. A provider that cannot be reached before the first
    message hands the batch back to `planned` (retry later, ledger entries removed); after
    that, every outcome is final: sent, failed, or delivery unknown.
    """
    now = now or timezone.now()
    counts: dict[str, int] = defaultdict(int)
    invitations = with_retries(lambda: _claimed(ids))
    by_channel: dict[str, list[Invitation]] = defaultdict(list)
    for inv in invitations:
        by_channel[inv.channel].append(inv)
    for channel, group in by_channel.items():
        recorder = _Recorder(now=now)
        try:
            results = channels.send(channel, group, on_result=recorder.accepted)
        except channels.ChannelUnavailable as exc:
            logger.warning("channel %s unavailable: %s", channel, exc)
            handed_back = [i.id for i in group]
            with_retries(functools.partial(invitations_release, ids=handed_back, now=now))
            counts["released"] += len(group)
            continue
        recorder.finish(results)
        for r in results:
            counts[r.outcome.value] += 1
    return dict(counts)


def _claimed(ids: Sequence[int]) -> list[Invitation]:
    """The invitations of `ids` still `sending` (ours to send), with person and survey."""
    invitations = list(
        Invitation.objects.select_related("person")
        .filter(id__in=ids, state=InvitationState.SENDING)
        .order_by("id")
    )
    _attach_surveys(invitations)
    return invitations


def with_retries(work: Callable[[], T], *, retries: int = WRITE_RETRIES) -> T:
    """`work()` (its own transaction), run again on a fresh connection if the database
    connection was lost, after WRITE_FIRST_WAIT, then twice as long each time.

    For the steps after a claim has committed, when a lost write would leave rows `sending`
    (and so "delivery unknown" to the reconciler). A caller's open transaction cannot survive
    a lost connection: inside one, the connection is kept and the savepoint retried.
    """
    wait = WRITE_FIRST_WAIT
    for attempt in range(retries + 1):
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            if attempt == retries:
                raise
            logger.warning(
                "Database connection lost (%s); retrying in %.2f s (%d of %d).",
                exc,
                wait,
                attempt + 1,
                retries,
            )
            if not connection.in_atomic_block:
                connection.close()
            time.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


class _Recorder:
    """Records one channel group's outcomes as the channel reports them, FLUSH_EVERY apart.

    A write that still fails after its retries leaves its outcomes for the next one; what no
    write could store stays `sending`, for the reconciler (delivery unknown) and the operator.
    """

    def __init__(self, *, now: datetime.datetime) -> None:
        self.now = now
        self.pending: list[channels.Result] = []
        self.recorded: set[int] = set()
        self.last = time.monotonic()
        self.reachable = True

    def accepted(self, result: channels.Result) -> None:
        """The channel's report of one message (channels.send's on_result)."""
        self.pending.append(result)
        if self.reachable and time.monotonic() - self.last >= FLUSH_EVERY:
            self.reachable = self._flush(raising=False)

    def finish(self, results: Sequence[channels.Result]) -> None:
        """Record every outcome of `results` not recorded yet; raises if the database is gone."""
        self.pending = [r for r in results if r.invitation_id not in self.recorded]
        self._flush(raising=True)

    def _flush(self, *, raising: bool) -> bool:
        if not self.pending:
            return True
        pending = list(self.pending)
        try:
            with_retries(lambda: invitations_record(results=pending, now=self.now))
        except DatabaseError:
            logger.exception(
                "Outcomes of %d messages handed to the provider not recorded; they stay"
                " 'sending' and become delivery unknown after %s.",
                len(pending),
                SENDING_TIMEOUT,
            )
            if raising:
                raise
            return False
        self.recorded.update(r.invitation_id for r in pending)
        self.pending = []
        self.last = time.monotonic()
        return True


@transaction.atomic
def invitations_release(*, ids: Sequence[int], now: datetime.datetime) -> None:
    """Hand never-attempted claims back: planned again later, or failed after MAX_ATTEMPTS."""
    claimed = Invitation.objects.filter(id__in=ids, state=InvitationState.SENDING)
    ContactLedger.objects.filter(invitation_id__in=ids, kind=ContactKind.INVITATION).filter(
        invitation__state=InvitationState.SENDING
    ).delete()
    claimed.filter(attempts__gte=MAX_ATTEMPTS).update(state=InvitationState.FAILED)
    claimed.update(state=InvitationState.PLANNED, due_at=now + RETRY_AFTER, claimed_at=None)


@transaction.atomic
def invitations_record(*, results: Sequence[channels.Result], now: datetime.datetime) -> None:
    """Store delivery outcomes; only rows still `sending` change (a reconciler may have won)."""
    sent = [r for r in results if r.outcome is channels.Outcome.SENT]
    # E-mail ids are derived from the invitation id: one UPDATE builds them in SQL.
    derived = {
        r.invitation_id for r in sent if r.message_id == channels.message_id(r.invitation_id)
    }
    Invitation.objects.filter(id__in=derived, state=InvitationState.SENDING).update(
        state=InvitationState.SENT,
        sent_at=now,
        message_id=Concat(
            Value("<invitation-"),
            Cast("id", output_field=CharField()),
            Value(channels.message_id(0).removeprefix("<invitation-0")),
        ),
    )
    for r in sent:
        if r.invitation_id not in derived:  # provider-assigned ids (SMS): one row each
            Invitation.objects.filter(id=r.invitation_id, state=InvitationState.SENDING).update(
                state=InvitationState.SENT, sent_at=now, message_id=r.message_id
            )
    failed = [r.invitation_id for r in results if r.outcome is channels.Outcome.FAILED]
    if failed:
        Invitation.objects.filter(id__in=failed, state=InvitationState.SENDING).update(
            state=InvitationState.FAILED
        )
        ContactLedger.objects.filter(invitation_id__in=failed, kind=ContactKind.INVITATION).delete()
    unknown = [r.invitation_id for r in results if r.outcome is channels.Outcome.UNKNOWN]
    if unknown:
        Invitation.objects.filter(id__in=unknown, state=InvitationState.SENDING).update(
            state=InvitationState.DELIVERY_UNKNOWN
        )


def invitations_reconcile(
    *, now: datetime.datetime, timeout: datetime.timedelta = SENDING_TIMEOUT
) -> int:
    """Mark invitations stuck in `sending` longer than `timeout` as delivery unknown."""
    return Invitation.objects.filter(
        state=InvitationState.SENDING, claimed_at__lt=now - timeout
    ).update(state=InvitationState.DELIVERY_UNKNOWN)


RECONCILE_DECISIONS = {
    "sent": _("The provider confirms delivery: mark them sent"),
    "failed": _("The provider has no record: mark them failed (frees the budget)"),
    "resend": _("The provider has no record: send them again (the guard checks them anew)"),
}


@transaction.atomic
def invitations_resolve_unknown(*, ids: Sequence[int], decision: str) -> int:
    """An operator's reconcile decision for delivery-unknown invitations (see module docstring).

    "sent" keeps the ledger entry; "failed" and "resend" free the budget, and "resend" plans
    the invitation again, due now: the next cycle admits it through the guard (or defers or
    suppresses it) like any other, and it still expires at its expiry.
    """
    rows = Invitation.objects.filter(id__in=ids, state=InvitationState.DELIVERY_UNKNOWN)
    if decision == "sent":
        return rows.update(state=InvitationState.SENT, sent_at=F("claimed_at"))
    if decision in ("failed", "resend"):
        ContactLedger.objects.filter(invitation__in=rows, kind=ContactKind.INVITATION).delete()
        if decision == "resend":
            planned = rows.update(
                state=InvitationState.PLANNED, due_at=timezone.now(), claimed_at=None
            )
            if planned:
                outbox_emit("invitation.due")
            return planned
        return rows.update(state=InvitationState.FAILED)
    raise ValueError(f"Unknown decision {decision!r}; use one of {sorted(RECONCILE_DECISIONS)}.")


def invitations_expire(*, now: datetime.datetime) -> int:
    """Planned invitations past their expiry are suppressed as `expired` (never sent late)."""
    return Invitation.objects.filter(state=InvitationState.PLANNED, expires_at__lte=now).update(
        state=InvitationState.SUPPRESSED, suppression_reason=fatigue.EXPIRED
    )


def dispatch_batch(*, now: datetime.datetime | None = None, limit: int = BATCH) -> dict:
    """Claim, admit and send one batch (what one worker task does); returns counts."""
    now = now or timezone.now()
    limit = throttle_take(limit)
    if limit <= 0:
        return {"throttled": 1}
    admission = invitations_admit(now=now, limit=limit)
    counts = invitations_deliver(ids=admission.sending, now=now) if admission.sending else {}
    counts["claimed"] = len(admission.sending)
    for reason, n in admission.suppressed.items():
        counts[f"suppressed:{reason}"] = n
    for reason, n in admission.deferred.items():
        counts[f"deferred:{reason}"] = n
    return counts


def dispatch_now(
    *,
    now: datetime.datetime | None = None,
    max_batches: int = NOW_BATCHES,
    limit: int = BATCH,
) -> dict:
    """Send what is due at `now`, batch after batch while they come back full, `max_batches`
    at most (what the invitation.due handler runs); returns counts."""
    now = now or timezone.now()
    totals: dict[str, int] = defaultdict(int)
    for _batch in range(max_batches):
        counts = dispatch_batch(now=now, limit=limit)
        for key, n in counts.items():
            totals[key] += n
        # Claimed, suppressed and deferred invitations all left the due backlog.
        taken = sum(n for key, n in counts.items() if key == "claimed" or ":" in key)
        if counts.get("throttled") or taken < limit:
            break
    return dict(totals)


def invitations_due_handler(*, message_id: int) -> None:
    """Outbox handler of `invitation.due`: a worker sends what is due now (dispatch_now_task).

    The invitations committed before their outbox row did, so the task may start before the
    relay's own transaction commits. A task the broker refuses is logged, not retried: the
    beat's minute sends what is due anyway.
    """
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import RedisError

    from surveys.tasks import dispatch_now_task  # the tasks import this module

    try:
        dispatch_now_task.apply_async(queue="bulk", retry=False)
    except (BrokerError, RedisError, OSError):
        logger.warning("Invitations due now wait for the beat's dispatch: the broker is away.")


def dispatch_now_after_commit() -> None:
    """`dispatch_now` once the current transaction commits, at once outside one.

    A batch's claim must commit before the batch talks to a provider; a task run eagerly (the
    embedded mode, tests) runs inside the outbox relay's transaction, so it waits for it.
    """
    transaction.on_commit(dispatch_now, robust=True)


def due_count(*, now: datetime.datetime) -> int:
    """How many planned invitations are due (sizes the fan-out of one beat tick)."""
    return Invitation.objects.filter(state=InvitationState.PLANNED, due_at__lte=now).count()


def dispatch_cycle(*, now: datetime.datetime | None = None, max_batches: int = 10_000) -> dict:
    """One whole dispatch cycle in this process: reconcile, expire, then batches until done."""
    now = now or timezone.now()
    totals: dict[str, int] = defaultdict(int)
    totals["reconciled"] = invitations_reconcile(now=now)
    totals["expired"] = invitations_expire(now=now)
    for _batch in range(max_batches):
        counts = dispatch_batch(now=now)
        for key, n in counts.items():
            totals[key] += n
        if not counts.get("claimed") and not any(
            k.startswith(("suppressed", "deferred")) for k in counts
        ):
            break
    return dict(totals)
