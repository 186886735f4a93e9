"""The weekly report as an e-mail: subject, plain text and HTML in the reader's language, and the
signed one-click unsubscribe link (also in the `List-Unsubscribe` header, RFC 2369 / 8058)."""

import datetime as dt
from typing import Any

from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from metrics.reports.selectors import AudienceReport, absolute_url

UNSUBSCRIBE_SALT = "metrics.reports.unsubscribe"


def unsubscribe_token(user_id: int) -> str:
    """A token naming one user's subscription, HMAC-signed with SECRET_KEY (never expires: an
    old e-mail's link must still switch the report off). Without a timestamp: the same user
    always gets the same link, so two renderings of one report are identical."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(user_id)


def user_of_token(token: str) -> int | None:
    """The user id a token names, or None when it was not signed by this site."""
    try:
        value = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def unsubscribe_url(user_id: int) -> str:
    return absolute_url(reverse("reports:unsubscribe", args=[unsubscribe_token(user_id)]))


def report_message(
    *,
    user: Any,
    language: str,
    reports: list[AudienceReport],
    week: dt.date,
    preview: bool = False,
) -> EmailMultiAlternatives:
    """The report e-mail for one user: plain text with an HTML alternative, in `language`.

    It carries scores, n, margins, driver and topic labels, case titles and links: nothing a
    person wrote and nothing of a person (anonymity: an e-mail is an export).
    """
    link = unsubscribe_url(user.pk)
    with translation.override(language):
        start, end = week - dt.timedelta(days=7), week - dt.timedelta(days=1)
        subject = _("Weekly experience report: %(start)s – %(end)s") % {
            "start": date_format(start, "DATE_FORMAT"),
            "end": date_format(end, "DATE_FORMAT"),
        }
        if preview:
            subject = _("[Preview] %(subject)s") % {"subject": subject}
        context = {
            "language": language,
            "user": user,
            "reports": reports,
            "week_from": start,
            "week_to": end,
            "preview": preview,
            "settings_url": absolute_url(reverse("metrics:report_settings")),
            "unsubscribe_url": link,
            "subject": subject,
        }
        text = render_to_string("metrics/email/weekly_report.txt", context)
        html = render_to_string("metrics/email/weekly_report.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
