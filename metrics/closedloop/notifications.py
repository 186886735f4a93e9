"""Telling people: the immediate e-mail of an alert and the daily digest.

Each is claimed in the database before the mail server is contacted, and the claim commits
first: an immediate alert by a conditional UPDATE of the alert (`alert_mail_claim`, in the
outbox handler's transaction, sent after it commits), a digest by inserting the user's row for
the day. A crash after the claim costs a visible "claimed, not sent" state, never a second
e-mail.
"""

import datetime as dt
import logging
import smtplib
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from metrics.closedloop.alerts import window_start
from metrics.closedloop.models import Alert, AlertDigest, NotifyMode

log = logging.getLogger(__name__)

MAIL_ERRORS = (smtplib.SMTPException, OSError)


class MailFailed(Exception):
    """The mail server refused or could not be reached; the claim was released for a retry."""


def _case_url(case_id: int) -> str:
    return settings.SITE_URL + reverse("admin:metrics_case_change", args=[case_id])


def _my_cases_url() -> str:
    return settings.SITE_URL + reverse("admin:metrics_case_changelist") + "?assigned=me&state=open"


def _message(
    *, to: str, subject: str, template: str, context: dict[str, Any]
) -> EmailMultiAlternatives:
    with translation.override(settings.LANGUAGE_CODE):
        context = {**context, "language": settings.LANGUAGE_CODE}
        text = render_to_string(f"metrics/email/{template}.txt", context)
        html = render_to_string(f"metrics/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    return message


def alert_mail_claim(*, alert_id: int, now: dt.datetime) -> bool:
    """Claim the immediate e-mail of one alert; True when the caller is to send it.

    A conditional UPDATE: False when the alert is not immediate, claimed already or gone. The
    claim also takes the rule's cooldown window (unique per rule), so a rule e-mails at most
    once per window; a later alert of the window is moved to the digest instead. The caller
    commits the claim, then calls `alert_mail_send`.
    """
    unclaimed = Alert.objects.filter(
        pk=alert_id, notify=NotifyMode.IMMEDIATE, notify_claimed_at__isnull=True
    )
    cooldown = unclaimed.values_list("rule__cooldown", flat=True).first()
    if cooldown is None:
        return False  # claimed already, not immediate, or gone
    window = window_start(now=now, cooldown=cooldown) if cooldown else None
    try:
        with transaction.atomic():
            claimed = unclaimed.update(
                notify_claimed_at=now,
                notify_attempts=F("notify_attempts") + 1,
                mail_window=window,
            )
    except IntegrityError:
        # The rule has e-mailed about another alert in this cooldown window: no storm.
        unclaimed.update(notify=NotifyMode.DIGEST)
        return False
    return bool(claimed)


def alert_mail_send(*, alert_id: int) -> bool:
    """E-mail the assignee about one claimed, unsent immediate alert; True when sent.

    Call once the claim has committed, outside a transaction. On a mail error the claim is
    released and MailFailed raised, so a retry claims and sends again.
    """
    alert = (
        Alert.objects.select_related("rule", "audience", "case__assignee")
        .filter(pk=alert_id, notify_claimed_at__isnull=False, notified_at__isnull=True)
        .first()
    )
    if alert is None:
        return False
    case = alert.case
    assignee = case.assignee
    if assignee is None or not assignee.email:
        log.warning("alert %s: the assignee has no e-mail address; nothing sent", alert_id)
        return False
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("New case for %(audience)s: %(title)s") % {
            "audience": alert.audience,
            "title": case.title_shown,
        }
        message = _message(
            to=assignee.email,
            subject=subject,
            template="alert",
            context={"alert": alert, "case": case, "case_url": _case_url(case.pk)},
        )
    try:
        message.send()
    except MAIL_ERRORS as exc:
        Alert.objects.filter(pk=alert_id).update(notify_claimed_at=None, mail_window=None)
        raise MailFailed(str(exc)) from exc
    Alert.objects.filter(pk=alert_id).update(notified_at=timezone.now())
    return True


def alert_digests_send(*, now: dt.datetime | None = None) -> int:
    """Send each user one digest of their pending digest alerts; at most one per user per day.

    The user's AlertDigest row for the day is inserted (unique) and the alerts are claimed in
    one transaction that commits before the e-mail is sent. Alerts raised after today's digest
    wait for tomorrow's. Returns the digests sent.
    """
    now = now or timezone.now()
    day = now.date()
    pending = Alert.objects.filter(
        notify=NotifyMode.DIGEST, notify_claimed_at__isnull=True, case__assignee__isnull=False
    )
    user_ids = list(pending.values_list("case__assignee_id", flat=True).distinct().order_by())
    users = get_user_model().objects.in_bulk(user_ids)
    sent = 0
    for user_id in sorted(user_ids):
        user = users[user_id]
        try:
            with transaction.atomic():
                digest = AlertDigest.objects.create(user=user, day=day, claimed_at=now)
                ids = list(pending.filter(case__assignee_id=user_id).values_list("pk", flat=True))
                digest.alerts = Alert.objects.filter(
                    pk__in=ids, notify_claimed_at__isnull=True
                ).update(notify_claimed_at=now, notify_attempts=F("notify_attempts") + 1)
                digest.save(update_fields=["alerts"])
        except IntegrityError:
            continue  # this user's digest for the day is out (or being sent) already
        if not user.email or not digest.alerts:
            continue
        alerts = list(
            Alert.objects.filter(pk__in=ids, notify_claimed_at=now)
            .select_related("audience", "case")
            .order_by("opened_at")
        )
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Your daily alerts: %(count)s") % {"count": len(alerts)}
            message = _message(
                to=user.email,
                subject=subject,
                template="digest",
                context={
                    "alerts": [(a, _case_url(a.case.pk)) for a in alerts],
                    "day": day,
                    "cases_url": _my_cases_url(),
                },
            )
        try:
            message.send()
        except MAIL_ERRORS:
            log.exception("digest for user %s on %s could not be sent", user_id, day)
            continue
        sent_at = timezone.now()
        AlertDigest.objects.filter(pk=digest.pk).update(sent_at=sent_at)
        Alert.objects.filter(pk__in=[a.pk for a in alerts]).update(notified_at=sent_at)
        sent += 1
    return sent
