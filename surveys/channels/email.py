"""E-mail through Django's e-mail framework: multipart, translated, with one-click unsubscribe."""

import smtplib
from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from surveys import tokens
from surveys.channels import ChannelUnavailable, Outcome, Result, message_id
from surveys.models import Invitation


def links(invitation: Invitation) -> tuple[str, str]:
    """The survey URL and the one-click unsubscribe URL of `invitation`."""
    token = tokens.token_for(invitation.nonce)
    base = settings.SITE_URL
    return (
        base + reverse("surveys:respond", kwargs={"token": token}),
        base + reverse("surveys:optout", kwargs={"token": token}),
    )


def _text(value: object, language: str, fallback: str) -> str:
    if isinstance(value, dict):
        return str(value.get(language) or next(iter(value.values()), "") or fallback)
    return str(value or fallback)


def build(
    invitation: Invitation,
    *,
    reminder: int = 0,
    urls: tuple[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The message for `invitation` in the person's language (text and HTML parts).

    `urls` replaces the survey and unsubscribe links (a staff test message links to a signed
    preview that records nothing).
    """
    person = invitation.person
    survey = invitation.survey
    language = invitation.language or (person.language if person else "") or survey.default_language
    survey_url, optout_url = urls or links(invitation)
    with translation.override(language):
        title = _text(survey.title, language, survey.name)
        context = {
            "title": title,
            "name": person.name if person else "",
            "survey_url": survey_url,
            "optout_url": optout_url,
            "reminder": reminder,
            "language": language,
        }
        subject = (
            _("Reminder: %(title)s") % {"title": title}
            if reminder
            else _("We'd value your opinion: %(title)s") % {"title": title}
        )
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        to=[person.email] if person else [],
        headers={
            "Message-ID": message_id(invitation.id, reminder),
            "X-Invitation-ID": str(invitation.id),
            "List-Unsubscribe": f"<{optout_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


class EmailChannel:
    """Sends a batch over one connection (connection reuse is what makes bulk fast)."""

    def send(self, invitations: Sequence[Invitation], *, reminder: bool = False) -> list[Result]:
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelUnavailable(str(exc)) from exc
        results = []
        try:
            for inv in invitations:
                number = inv.reminders_sent + 1 if reminder else 0
                try:
                    connection.send_messages([build(inv, reminder=number)])
                except smtplib.SMTPRecipientsRefused as exc:
                    results.append(Result(inv.id, Outcome.FAILED, detail=str(exc)[:200]))
                except (OSError, smtplib.SMTPException) as exc:
                    # Handed over or not, we cannot tell: never send it again automatically.
                    results.append(Result(inv.id, Outcome.UNKNOWN, detail=str(exc)[:200]))
                else:
                    results.append(Result(inv.id, Outcome.SENT, message_id(inv.id, number)))
        finally:
            try:
                connection.close()
            except (OSError, smtplib.SMTPException):
                pass  # the messages are already accounted for; a failed QUIT changes nothing
        return results
