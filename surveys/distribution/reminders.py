"""Reminders to people who have not answered: claimed and counted before they are sent.

A reminder is owed while an invitation is sent or opened, unanswered and unexpired, fewer
reminders than its rule allows have gone, and the rule's interval has passed since the
invitation or the last reminder. The claim counts it (and writes its ledger entry) in the same
transaction that locks the invitation (SKIP LOCKED), so two beats or workers never remind one
invitation twice: a crash costs a reminder, never a duplicate.
"""

import datetime
import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import F, Q
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
