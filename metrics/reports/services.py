"""Writes of the weekly report: the subscription, and the send (claim the week, then mail).

A subscriber's week is claimed by a conditional UPDATE of their row (`last_sent_week` set to
the week's Monday only where it is still earlier) that commits before the mail server is
contacted: two senders at once (beat fired twice, a redelivered task after a worker died) find
the row claimed and send nothing more. A crash between claim and mail costs that user the
week's report (visible as `last_sent_at` behind `last_sent_week`), never a second one; a mail
server that refuses gives the claim back, so a retry sends it.
"""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from metrics.closedloop.notifications import MAIL_ERRORS, MailFailed
from metrics.reports.mail import report_message
from metrics.reports.models import ReportSubscription
from metrics.reports.selectors import (
    audience_reports,
    report_for,
    visible_audiences,
    week_of,
)

log = logging.getLogger(__name__)


class NoAddress(Exception):
    """The user has no e-mail address to send the report to."""


@transaction.atomic
def subscription_set(*, user: Any, enabled: bool, language: str) -> ReportSubscription:
    """Switch one user's weekly report on or off and choose its language (one row per user)."""
    subscription, _created = ReportSubscription.objects.update_or_create(
        user=user, defaults={"enabled": enabled, "language": language}
    )
    return subscription


def subscription_unsubscribe(*, user_id: int) -> bool:
    """Switch the report off for one user (the e-mail's link); True when it was on."""
    return bool(
        ReportSubscription.objects.filter(user_id=user_id, enabled=True).update(enabled=False)
    )


@dataclass(frozen=True)
class SendResult:
    sent: int
    failed: int


def _due(week: dt.date) -> Any:
    return ReportSubscription.objects.filter(
        Q(last_sent_week__isnull=True) | Q(last_sent_week__lt=week),
        enabled=True,
        user__is_active=True,
        user__is_staff=True,
    ).exclude(user__email="")


def weekly_reports_send(*, now: dt.datetime | None = None) -> SendResult:
    """Send this week's report to every subscriber who has not had it; at most once per week.

    Call outside a transaction: each claim must commit before its e-mail goes out. Reads the
    audiences' figures once for the run; a subscriber who sees no audience gets nothing (and
    is not claimed, so a grant given later in the week still brings the report next run).
    """
    now = now or timezone.now()
    week = week_of(now)
    due = list(_due(week).select_related("user").order_by("pk"))
    if not due:
        return SendResult(sent=0, failed=0)
    seen: set[int] = set()
    for subscription in due:
        seen.update(visible_audiences(subscription.user)[0])
    reports = audience_reports(audience_ids=sorted(seen), now=now)
    sent = failed = 0
    for subscription in due:
        user = subscription.user
        mine = report_for(user, language=subscription.language, reports=reports, now=now)
        if not mine:
            continue
        # Conditions on the row's own columns only: PostgreSQL re-checks them on the row a
        # concurrent claim committed (a join to the user would make Django update through an
        # `id IN (subquery)` read from the old snapshot, and both senders would claim it).
        claimed = (
            ReportSubscription.objects.filter(pk=subscription.pk, enabled=True)
            .filter(Q(last_sent_week__isnull=True) | Q(last_sent_week__lt=week))
            .update(last_sent_week=week)
        )
        if not claimed:
            continue  # another sender has it, or the user switched it off meanwhile
        message = report_message(user=user, language=subscription.language, reports=mine, week=week)
        try:
            message.send()
        except MAIL_ERRORS:
            log.exception("weekly report for user %s could not be sent; claim released", user.pk)
            ReportSubscription.objects.filter(pk=subscription.pk, last_sent_week=week).update(
                last_sent_week=subscription.last_sent_week
            )
            failed += 1
            continue
        ReportSubscription.objects.filter(pk=subscription.pk).update(last_sent_at=timezone.now())
        sent += 1
    return SendResult(sent=sent, failed=failed)


def report_preview_send(*, user: Any, language: str, now: dt.datetime | None = None) -> int:
    """E-mail one user this week's report now, marked as a preview; claims nothing (the weekly
    one still comes). Returns the audiences it covers; raises NoAddress or MailFailed."""
    if not user.email:
        raise NoAddress
    now = now or timezone.now()
    mine = report_for(user, language=language, now=now)
    message = report_message(
        user=user, language=language, reports=mine, week=week_of(now), preview=True
    )
    try:
        message.send()
    except MAIL_ERRORS as exc:
        raise MailFailed(str(exc)) from exc
    return len(mine)
