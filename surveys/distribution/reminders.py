"""Reminders to people who have not answered: claimed and counted before they are sent.

A reminder is owed while an invitation is sent or opened, unanswered and unexpired, fewer
reminders than its rule allows have gone, and the rule's interval has passed since the
invitation or the last reminder. The claim counts it (and writes its ledger entry) in the same
transaction that locks the invitation (SKIP LOCKED), so two beats or workers never remind one
invitation twice: a crash costs a reminder, never a duplicate. A reminder that cannot go now is
marked, never just skipped: stopped for good when the person cannot be reached on its channel,
deferred to the end of their quiet hours, so such rows never hold the queue.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from surveys.distribution import channels, fatigue
from surveys.distribution.sending import BATCH
from surveys.models import (
    ContactKind,
    ContactLedger,
    DistributionRule,
    Invitation,
    InvitationState,
    SurveyStatus,
)

logger = logging.getLogger(__name__)


# Why an owed reminder stops for good (Invitation.reminders_stopped): the guard's channel
# reasons (no_address, opted_out, no_consent), or the person's erasure.
ERASED = "erased"
# Rounds of one claim: each locks up to `limit` owed rows and marks the ones it cannot send,
# so rows nobody can be reminded on never hold the queue; the bound keeps one transaction short
# (what is left is marked by the next claim).
MAX_ROUNDS = 50
ERASED_PERSON = ExpressionWrapper(Q(person__erased_at__isnull=False), output_field=BooleanField())


def _owed(now: datetime.datetime) -> QuerySet[Invitation]:
    """Invitations owed a reminder at `now` (see `reminders_claim`), oldest first."""
    intervals = (
        DistributionRule.objects.filter(reminder_count__gt=0)
        .values_list("reminder_after_days", flat=True)
        .distinct()
    )
    owed_now = Q(pk__in=[])
    for days in intervals:
        owed_now |= Q(rule__reminder_after_days=days, last_contact__lte=now - days * fatigue.DAY)
    return (
        Invitation.objects.filter(
            state__in=[InvitationState.SENT, InvitationState.OPENED],
            responded_at__isnull=True,
            person__isnull=False,
            rule__isnull=False,
            rule__reminder_count__gt=F("reminders_sent"),
            expires_at__gt=now,
            sent_at__isnull=False,
            survey__status=SurveyStatus.LIVE,
            reminders_stopped="",
        )
        .filter(Q(next_reminder_at__isnull=True) | Q(next_reminder_at__lte=now))
        # Only what is owed now, so not-yet-owed rows never crowd the batch out (one term per
        # distinct interval: portable, where integer × interval is not).
        .alias(last_contact=Coalesce("last_reminder_at", "sent_at"))
        .filter(owed_now)
        .order_by("id")
    )


@dataclass
class _Round:
    """What one round decided for the rows it locked."""

    owed: list[Invitation] = field(default_factory=list)
    stopped: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    deferred: dict[datetime.datetime, list[int]] = field(default_factory=lambda: defaultdict(list))


def _decide(candidates: list[Invitation], *, now: datetime.datetime) -> _Round:
    """Sort `candidates` into owed now, stopped (with the reason) and deferred (until when),
    by the same rules sending applies: the channel's reach and consent, then quiet hours in
    the person's zone (fatigue.channel_reason, fatigue.quiet_until)."""
    decided = _Round()
    person_ids = sorted({i.person_id for i in candidates if i.person_id})
    reach = fatigue.reach_load(person_ids)
    policies = fatigue.policies_load()
    facts = fatigue.facts_load(person_ids, policies=policies, now=now)
    for inv in candidates:
        if inv.person_erased:  # type: ignore[attr-defined]  # annotated by the claim
            decided.stopped[ERASED].append(inv.id)
            continue
        reason = fatigue.channel_reason(
            reach.get(inv.person_id or 0, {}).get(inv.channel, fatigue.Reach(False, False, False)),
            requires_opt_in=inv.survey.audience.requires_opt_in,
        )
        if reason:
            decided.stopped[reason].append(inv.id)
            continue
        person = facts.get(inv.person_id or 0)
        until = fatigue.quiet_until(person, policies, now=now) if person is not None else None
        if until is not None:
            decided.deferred[until].append(inv.id)  # owed still, from the end of quiet hours
            continue
        decided.owed.append(inv)
    return decided


def _write(decided: _Round, *, now: datetime.datetime) -> None:
    """One UPDATE per outcome (quiet hours end on the hour, so deferrals share few times),
    and the ledger entries of the reminders owed now, counted before they are sent."""
    for reason, ids in decided.stopped.items():
        Invitation.objects.filter(id__in=ids).update(reminders_stopped=reason)
    for until, ids in decided.deferred.items():
        Invitation.objects.filter(id__in=ids).update(next_reminder_at=until)
    if not decided.owed:
        return
    Invitation.objects.filter(id__in=[i.id for i in decided.owed]).update(
        reminders_sent=F("reminders_sent") + 1, last_reminder_at=now, next_reminder_at=None
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
        for i in decided.owed
    )


@transaction.atomic
def reminders_claim(*, now: datetime.datetime, limit: int = BATCH) -> list[int]:
    """Claim invitations owed a reminder: counted and written to the ledger before sending.

    Owed: sent or opened, not responded, not expired, fewer reminders than the rule allows,
    the rule's interval passed since the invitation or the last reminder, not stopped and not
    waiting for the end of quiet hours. Reminders do not spend the frequency budget. Rows are
    locked oldest first (SKIP LOCKED: two claimers take disjoint rows) and each one is decided:
    a person erased, or no longer reachable on the channel (opted out, no consent, no address)
    gets no reminder ever (`reminders_stopped` names why); one in their quiet hours waits until
    they end (`next_reminder_at`). Marked rows leave the owed set, so the claim takes further
    rounds until it has `limit` reminders to send: however many unreachable people are at the
    front, the reachable ones behind them are reminded. Counting first means a crash costs a
    reminder, never a duplicate.
    """
    owed = _owed(now)
    claimed: list[int] = []
    for _round in range(MAX_ROUNDS):
        want = limit - len(claimed)
        candidates = list(
            owed.select_for_update(skip_locked=True, of=("self",))
            .select_related("rule", "survey__audience")
            .annotate(person_erased=ERASED_PERSON)[:want]
        )
        if not candidates:
            break
        decided = _decide(candidates, now=now)
        _write(decided, now=now)
        claimed += [i.id for i in decided.owed]
        if len(candidates) < want or len(claimed) >= limit:
            break
    return claimed


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
