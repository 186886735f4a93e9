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
"""

import datetime
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import CharField, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from surveys.distribution import channels, fatigue
from surveys.models import (
    ContactKind,
    ContactLedger,
    DistributionRule,
    Invitation,
    InvitationState,
    Survey,
    SurveyStatus,
)

logger = logging.getLogger(__name__)

BATCH = 200
SENDING_TIMEOUT = datetime.timedelta(minutes=15)
RETRY_AFTER = datetime.timedelta(minutes=5)
MAX_ATTEMPTS = 5
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
    invitations = list(
        Invitation.objects.select_related("person")
        .filter(id__in=ids, state=InvitationState.SENDING)
        .order_by("id")
    )
    _attach_surveys(invitations)
    by_channel: dict[str, list[Invitation]] = defaultdict(list)
    for inv in invitations:
        by_channel[inv.channel].append(inv)
    for channel, group in by_channel.items():
        try:
            results = channels.send(channel, group)
        except channels.ChannelUnavailable as exc:
            logger.warning("channel %s unavailable: %s", channel, exc)
            invitations_release(ids=[i.id for i in group], now=now)
            counts["released"] += len(group)
            continue
        invitations_record(results=results, now=now)
        for r in results:
            counts[r.outcome.value] += 1
    return dict(counts)


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
            return rows.update(
                state=InvitationState.PLANNED, due_at=timezone.now(), claimed_at=None
            )
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


@transaction.atomic
def reminders_claim(*, now: datetime.datetime, limit: int = BATCH) -> list[int]:
    """Claim invitations owed a reminder: counted and written to the ledger before sending.

    Owed: sent or opened, not responded, not expired, fewer reminders than the rule allows,
    and the rule's interval passed since the invitation or the last reminder. Reminders do not
    spend the frequency budget, someone who opted out of the channel gets none, and nobody
    gets one in their quiet hours (it waits for a later tick). Counting first means a crash
    costs a reminder, never a duplicate.
    """
    intervals = (
        DistributionRule.objects.filter(reminder_count__gt=0)
        .values_list("reminder_after_days", flat=True)
        .distinct()
    )
    owed_now = Q(pk__in=[])
    for days in intervals:
        owed_now |= Q(rule__reminder_after_days=days, last_contact__lte=now - days * fatigue.DAY)
    candidates = list(
        Invitation.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("rule", "survey__audience")
        .filter(
            state__in=[InvitationState.SENT, InvitationState.OPENED],
            responded_at__isnull=True,
            person__isnull=False,
            rule__isnull=False,
            rule__reminder_count__gt=F("reminders_sent"),
            expires_at__gt=now,
            sent_at__isnull=False,
            survey__status=SurveyStatus.LIVE,
        )
        # Only what is owed now, so not-yet-owed rows never crowd the batch out (one term per
        # distinct interval: portable, where integer × interval is not).
        .alias(last_contact=Coalesce("last_reminder_at", "sent_at"))
        .filter(owed_now)
        .order_by("id")[:limit]
    )
    person_ids = sorted({i.person_id for i in candidates if i.person_id})
    reach = fatigue.reach_load(person_ids)
    policies = fatigue.policies_load()
    facts = fatigue.facts_load(person_ids, policies=policies, now=now) if candidates else {}
    owed = []
    for inv in candidates:
        if fatigue.channel_reason(
            reach.get(inv.person_id or 0, {}).get(inv.channel, fatigue.Reach(False, False, False)),
            requires_opt_in=inv.survey.audience.requires_opt_in,
        ):
            continue
        person = facts.get(inv.person_id or 0)
        if person is not None and fatigue.quiet_until(person, policies, now=now) is not None:
            continue  # quiet hours in the person's zone: owed still, sent on a later tick
        owed.append(inv)
    ids = [i.id for i in owed]
    Invitation.objects.filter(id__in=ids).update(
        reminders_sent=F("reminders_sent") + 1, last_reminder_at=now
    )
    ContactLedger.objects.bulk_create(
        ContactLedger(
            person_id=i.person_id,
            invitation_id=i.id,
            survey_id=i.survey_id,
            kind=ContactKind.REMINDER,
            channel=i.channel,
            at=now,
        )
        for i in owed
    )
    return ids


def reminders_send(*, now: datetime.datetime | None = None, limit: int = BATCH) -> int:
    """Claim and send one batch of reminders; returns how many were handed to a channel."""
    now = now or timezone.now()
    ids = reminders_claim(now=now, limit=limit)
    invitations = list(Invitation.objects.select_related("survey", "person").filter(id__in=ids))
    by_channel: dict[str, list[Invitation]] = defaultdict(list)
    for inv in invitations:
        # The claim already counted this reminder; the message numbers itself accordingly.
        inv.reminders_sent -= 1
        by_channel[inv.channel].append(inv)
    handed = 0
    for channel, group in by_channel.items():
        try:
            results = channels.send(channel, group, reminder=True)
        except channels.ChannelUnavailable as exc:
            logger.warning("channel %s unavailable for reminders: %s", channel, exc)
            continue
        handed += sum(1 for r in results if r.outcome is channels.Outcome.SENT)
    return handed


def reminders_cycle(*, now: datetime.datetime | None = None, max_batches: int = 10_000) -> int:
    """Send every reminder owed at `now`, batch after batch, in this process; returns how many."""
    now = now or timezone.now()
    total = 0
    for _batch in range(max_batches):
        handed = reminders_send(now=now)
        if not handed:
            break
        total += handed
    return total
