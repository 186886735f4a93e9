"""E-mail through Django's e-mail framework: multipart, translated, with one-click unsubscribe."""

import logging
import re
import secrets
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import charset as Charset  # noqa: N812 - the stdlib module's own spelling
from email.header import Header

import requests
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from surveys import tokens
from surveys.distribution.channels import (
    ChannelUnavailable,
    Outcome,
    Result,
    mail_domain,
    message_id,
)
from surveys.models import Invitation, Survey
from surveys.selectors import duration_sentence, survey_estimated_seconds

logger = logging.getLogger(__name__)

# The per-person values of a message; everything else depends on the survey and language only.
SLOTS = ("name", "survey_url", "optout_url")


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


def _language(invitation: Invitation) -> str:
    person = invitation.person
    return (
        invitation.language
        or (person.language if person else "")
        or invitation.survey.default_language
    )


def _render(
    survey: Survey, language: str, reminder: int, values: dict[str, str], seconds: int
) -> tuple[str, str, str]:
    """Subject, text and HTML of a message of `survey` in `language` with `values` (SLOTS);
    `seconds` is the builder's estimate of the survey, told as “It takes about N minutes.”."""
    with translation.override(language):
        title = _text(survey.title, language, survey.name)
        context = {
            "title": title,
            "reminder": reminder,
            "language": language,
            "duration": duration_sentence(seconds),
            **values,
        }
        subject = (
            _("Reminder: %(title)s") % {"title": title}
            if reminder
            else _("We'd value your opinion: %(title)s") % {"title": title}
        )
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    return subject, text, html


# UTF-8 bodies as quoted-printable: Turkish text stays 7-bit on the wire, so no server on the
# way needs 8BITMIME (Django would send short-lined UTF-8 as raw 8bit without announcing
# BODY=8BITMIME, which a strict relay may refuse or mangle).
UTF8_QP = Charset.Charset("utf-8")
UTF8_QP.body_encoding = Charset.QP


class InvitationEmail(EmailMultiAlternatives):
    """An invitation: text and HTML alternatives, with its MIME boundary chosen up front.

    Left unset, the e-mail generator picks a boundary and compiles a new regular expression
    per message to check it against the parts; a random one checked with a substring search
    is as safe and far cheaper when thousands are sent. Bodies are quoted-printable (UTF8_QP).
    """

    encoding = UTF8_QP

    def _create_alternatives(self, msg):  # noqa: ANN001, ANN202 - Django's MIME objects
        msg = super()._create_alternatives(msg)
        if msg.is_multipart() and msg.get_boundary() is None:
            boundary = f"=_xm_{secrets.token_hex(12)}"
            parts = [self.body, *(str(content) for content, _type in self.alternatives)]
            if not any(boundary in part for part in parts):
                msg.set_boundary(boundary)
        return msg


def list_id(survey: Survey, language: str) -> str:
    """The List-Id (RFC 2919) of `survey`'s messages: its title, and one id per survey, so
    mail clients group a survey's invitations and reminders and filters can name them."""
    title = _text(survey.title, language, survey.name)
    label = "".join(ch for ch in title if ch not in '"\\<>').strip() or survey.name
    # Non-ASCII as an encoded word of its own, so the <id> part stays plain ASCII.
    phrase = f'"{label}"' if label.isascii() else Header(label, "utf-8").encode()
    return f"{phrase} <survey-{survey.pk or 0}.{mail_domain()}>"


def _message(
    invitation: Invitation,
    *,
    language: str,
    reminder: int,
    rendered: tuple[str, str, str],
    optout_url: str,
) -> EmailMultiAlternatives:
    subject, text, html = rendered
    person = invitation.person
    message = InvitationEmail(
        subject=subject,
        body=text,
        to=[person.email] if person else [],
        headers={
            "Message-ID": message_id(invitation.id, reminder),
            "X-Invitation-ID": str(invitation.id),
            "List-Id": list_id(invitation.survey, language),
            "List-Unsubscribe": f"<{optout_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


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
    language = _language(invitation)
    survey_url, optout_url = urls or links(invitation)
    values = {
        "name": person.name if person else "",
        "survey_url": survey_url,
        "optout_url": optout_url,
    }
    seconds = survey_estimated_seconds(survey=invitation.survey)
    return _message(
        invitation,
        language=language,
        reminder=reminder,
        rendered=_render(invitation.survey, language, reminder, values, seconds),
        optout_url=optout_url,
    )


@dataclass(frozen=True)
class _Layout:
    """A rendered message with its SLOTS cut out: literal text and slot names alternate."""

    subject: str
    text: tuple[str, ...]
    html: tuple[str, ...]

    def fill(self, values: dict[str, str]) -> tuple[str, str, str]:
        return (
            self.subject,
            "".join(values[p] if i % 2 else p for i, p in enumerate(self.text)),
            "".join(escape(values[p]) if i % 2 else p for i, p in enumerate(self.html)),
        )


class Composer:
    """Builds a batch's messages, rendering the templates once per survey, language and reminder.

    The templates are rendered with a marker in place of each of SLOTS, which every message
    then fills in (HTML-escaped in the HTML part, as the template would). Whether the name is
    empty is part of the key, since the greeting depends on it. The first message of each
    layout is also rendered in full and compared: a template that does more with a per-person
    value than print it gets every message rendered in full, as `build` does.
    """

    def __init__(self) -> None:
        tag = secrets.token_hex(8)
        self.markers = {slot: f"[[xm{tag}:{slot}]]" for slot in SLOTS}
        self.split = re.compile(
            "|".join(re.escape(m) for m in self.markers.values()).join(("(", ")"))
        )
        self.slot_of = {m: slot for slot, m in self.markers.items()}
        self.layouts: dict[tuple, _Layout | None] = {}
        self.urls = self._url_format()
        self.estimates: dict[int, int] = {}  # survey id → estimated seconds, one query each

    def _seconds(self, survey: Survey) -> int:
        if survey.pk not in self.estimates:
            self.estimates[survey.pk] = survey_estimated_seconds(survey=survey)
        return self.estimates[survey.pk]

    def _url_format(self) -> tuple[str, str, str, str] | None:
        """Survey and unsubscribe URLs around the token: (before, after) for each, or None."""
        marker = f"xm{secrets.token_hex(8)}"
        respond = settings.SITE_URL + reverse("surveys:respond", kwargs={"token": marker})
        optout = settings.SITE_URL + reverse("surveys:optout", kwargs={"token": marker})
        if respond.count(marker) != 1 or optout.count(marker) != 1:
            return None
        return (*respond.split(marker), *optout.split(marker))

    def links(self, invitation: Invitation) -> tuple[str, str]:
        if self.urls is None:
            return links(invitation)
        token = tokens.token_for(invitation.nonce)
        before, after, optout_before, optout_after = self.urls
        return before + token + after, optout_before + token + optout_after

    def _cut(self, rendered: str) -> tuple[str, ...]:
        parts = self.split.split(rendered)
        return tuple(self.slot_of[p] if i % 2 else p for i, p in enumerate(parts))

    def build(self, invitation: Invitation, *, reminder: int = 0) -> EmailMultiAlternatives:
        person = invitation.person
        language = _language(invitation)
        survey_url, optout_url = self.links(invitation)
        values = {
            "name": person.name if person else "",
            "survey_url": survey_url,
            "optout_url": optout_url,
        }
        key = (invitation.survey_id, language, reminder, bool(values["name"]))
        seconds = self._seconds(invitation.survey)
        if key not in self.layouts:
            # An empty name stays empty: the greeting branches on it (and it is in the key).
            marked = {**self.markers, **({} if values["name"] else {"name": ""})}
            subject, text, html = _render(invitation.survey, language, reminder, marked, seconds)
            layout = _Layout(subject, self._cut(text), self._cut(html))
            full = _render(invitation.survey, language, reminder, values, seconds)
            self.layouts[key] = layout if layout.fill(values) == full else None
            rendered = full
        else:
            layout = self.layouts[key]
            rendered = (
                layout.fill(values)
                if layout is not None
                else _render(invitation.survey, language, reminder, values, seconds)
            )
        return _message(
            invitation,
            language=language,
            reminder=reminder,
            rendered=rendered,
            optout_url=optout_url,
        )


class EmailChannel:
    """Sends a batch over one connection (connection reuse is what makes bulk fast)."""

    def send(
        self,
        invitations: Sequence[Invitation],
        *,
        reminder: bool = False,
        on_result: Callable[[Result], None] | None = None,
    ) -> list[Result]:
        connection = get_connection(fail_silently=False)
        try:
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelUnavailable(str(exc)) from exc
        composer = Composer()
        results: list[Result] = []

        def report(result: Result) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        try:
            for i, inv in enumerate(invitations):
                number = inv.reminders_sent + 1 if reminder else 0
                message = composer.build(inv, reminder=number)
                try:
                    connection.send_messages([message])
                except REFUSED as exc:
                    report(Result(inv.id, Outcome.FAILED, detail=describe(exc)))
                except Exception as exc:
                    if i == 0 and not_handed_over(exc):
                        raise ChannelUnavailable(describe(exc)) from exc
                    # Handed over or not, we cannot tell: never send it again automatically.
                    logger.warning("Invitation %s: delivery unknown: %s", inv.id, describe(exc))
                    report(Result(inv.id, Outcome.UNKNOWN, detail=describe(exc)))
                else:
                    # An e-mail service's own id (anymail) finds the message in its logs.
                    status = getattr(message, "anymail_status", None)
                    sent_id = getattr(status, "message_id", None)
                    if sent_id is None:
                        sent_id = message_id(inv.id, number)
                    report(Result(inv.id, Outcome.SENT, str(sent_id)[:200]))
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - every message is already accounted for
                pass
        return results


# The recipient was refused for good (SMTP, or an e-mail service's API through anymail).
REFUSED = (smtplib.SMTPRecipientsRefused, AnymailRecipientsRefused, AnymailInvalidAddress)


def describe(exc: Exception) -> str:
    """A short text of `exc` for the log and the invitation (never raises)."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - some providers' errors cannot describe themselves
        text = ""
    return (text or type(exc).__name__)[:200]


def not_handed_over(exc: Exception) -> bool:
    """Whether `exc` shows the message never reached the service, so a retry is safe.

    An SMTP connection is opened (and so tested) before the first message; an e-mail service's
    API is first called with it: a refused connection or credentials sends nothing.
    """
    if isinstance(exc, AnymailAPIError):
        cause = exc.__cause__ or exc.__context__
        return exc.status_code in (401, 403) or isinstance(cause, requests.ConnectionError)
    return isinstance(exc, ConnectionRefusedError)
