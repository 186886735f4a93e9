"""SMS: a small provider interface, a console/file provider, and Twilio's REST API.

settings.SURVEY_SMS_PROVIDER picks the provider ("console" by default, "file", "twilio");
SURVEY_SMS_FILE, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM and TWILIO_API_BASE
configure them.
"""

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import requests
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from surveys.distribution.channels import ChannelUnavailable, Outcome, Result, message_id
from surveys.distribution.channels.email import _text, links
from surveys.models import Invitation

TIMEOUT = 10


class SmsProvider(Protocol):
    def send(self, *, to: str, body: str, key: str) -> str:
        """Send one SMS; return the provider's id. Raise ProviderRefused or ProviderError."""


class ProviderRefused(Exception):
    """The provider rejected this message for good (invalid number, opted out)."""


class ProviderError(Exception):
    """The outcome is not known (timeout, 5xx after the request was made)."""


class ConsoleProvider:
    """Writes each message as one JSON line to stdout, or to SURVEY_SMS_FILE if set."""

    def send(self, *, to: str, body: str, key: str) -> str:
        line = json.dumps({"to": to, "body": body, "key": key}, ensure_ascii=False)
        path = getattr(settings, "SURVEY_SMS_FILE", "")
        if path:
            with Path(path).open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        else:
            sys.stdout.write(line + "\n")
        return key


class TwilioProvider:
    """Twilio's Messages API over plain HTTPS (`requests`), one session for the batch."""

    def __init__(self) -> None:
        self.sid = getattr(settings, "TWILIO_ACCOUNT_SID", "")
        self.token = getattr(settings, "TWILIO_AUTH_TOKEN", "")
        self.sender = getattr(settings, "TWILIO_FROM", "")
        self.base = getattr(settings, "TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
        if not (self.sid and self.token and self.sender):
            raise ChannelUnavailable(
                "Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM to send SMS via Twilio."
            )
        self.session = requests.Session()
        self.session.auth = (self.sid, self.token)

    def send(self, *, to: str, body: str, key: str) -> str:
        url = f"{self.base}/2010-04-01/Accounts/{self.sid}/Messages.json"
        try:
            response = self.session.post(
                url,
                data={"To": to, "From": self.sender, "Body": body},
                # Twilio de-duplicates retried requests carrying the same key.
                headers={"I-Twilio-Idempotency-Token": key},
                timeout=TIMEOUT,
            )
        except requests.ConnectionError as exc:
            raise ChannelUnavailable(str(exc)) from exc
        except requests.RequestException as exc:
            raise ProviderError(str(exc)) from exc
        if response.status_code in (200, 201):
            return str(response.json().get("sid", key))
        if 400 <= response.status_code < 500 and response.status_code != 429:
            raise ProviderRefused(response.text[:200])
        raise ProviderError(f"HTTP {response.status_code}: {response.text[:200]}")


PROVIDERS: dict[str, Callable[[], SmsProvider]] = {
    "console": ConsoleProvider,
    "file": ConsoleProvider,
    "twilio": TwilioProvider,
}


def body_for(invitation: Invitation, *, reminder: int = 0) -> str:
    """The translated SMS text: survey title, link and how to opt out."""
    person = invitation.person
    language = invitation.language or (person.language if person else "") or "en"
    survey_url, optout_url = links(invitation)
    with translation.override(language):
        title = _text(invitation.survey.title, language, invitation.survey.name)
        if reminder:
            text = _("Reminder: how was %(title)s? %(url)s") % {"title": title, "url": survey_url}
        else:
            text = _("How was %(title)s? %(url)s") % {"title": title, "url": survey_url}
        return text + " " + _("Stop: %(url)s") % {"url": optout_url}


class SmsChannel:
    """Sends each invitation as one SMS through the configured provider."""

    def send(
        self,
        invitations: Sequence[Invitation],
        *,
        reminder: bool = False,
        on_result: Callable[[Result], None] | None = None,
    ) -> list[Result]:
        name = getattr(settings, "SURVEY_SMS_PROVIDER", "console")
        if name not in PROVIDERS:
            raise ChannelUnavailable(
                f"Unknown SURVEY_SMS_PROVIDER {name!r}; use one of {PROVIDERS}."
            )
        provider = PROVIDERS[name]()
        results: list[Result] = []

        def report(result: Result) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        for i, inv in enumerate(invitations):
            number = inv.reminders_sent + 1 if reminder else 0
            key = message_id(inv.id, number)
            try:
                provider_id = provider.send(
                    to=inv.person.phone if inv.person else "",
                    body=body_for(inv, reminder=number),
                    key=key,
                )
            except ChannelUnavailable:
                if i == 0:
                    raise  # nothing handed over yet: the whole batch can go back
                report(Result(inv.id, Outcome.UNKNOWN, detail="provider unreachable"))
            except ProviderRefused as exc:
                report(Result(inv.id, Outcome.FAILED, detail=str(exc)))
            except ProviderError as exc:
                report(Result(inv.id, Outcome.UNKNOWN, detail=str(exc)))
            else:
                report(Result(inv.id, Outcome.SENT, message_id=provider_id))
        return results
