"""WhatsApp: Twilio's WhatsApp API, through the SMS adapter's Messages endpoint.

Twilio sends WhatsApp messages like SMS, with both numbers written `whatsapp:+<E.164>`.
settings.SURVEY_WHATSAPP_PROVIDER turns the channel on: "" (default) leaves WhatsApp off, so it
is neither offered nor planned (surveys.distribution.channels.backends); "twilio" sends from
TWILIO_WHATSAPP_FROM with the SMS account (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
TWILIO_API_BASE); "console" writes JSON lines like the SMS console provider (development).
A message that opens a conversation must be a template WhatsApp approved: with
TWILIO_WHATSAPP_CONTENT_SID (and TWILIO_WHATSAPP_REMINDER_CONTENT_SID for reminders) the message
is that Content template with the variables 1 = survey title, 2 = survey link, 3 = opt-out link;
without, the translated SMS text is sent as the body (Twilio's sandbox, open sessions).
Consent and opt-outs are the person's `whatsapp` consent, checked by the fatigue guard before
anything is sent, as for SMS; the address is the person's phone.
"""

import json
import re
from collections.abc import Callable, Sequence

import requests
from django.conf import settings
from django.utils import translation

from surveys.distribution.channels import ChannelUnavailable, Outcome, Result, message_id
from surveys.distribution.channels.email import _text, links
from surveys.distribution.channels.sms import (
    TIMEOUT,
    ConsoleProvider,
    ProviderError,
    ProviderRefused,
    TwilioProvider,
    body_for,
)
from surveys.models import Invitation

PREFIX = "whatsapp:"
# An international number: +, a country code, up to 15 digits in all (E.164).
E164 = re.compile(r"\+[1-9]\d{6,14}")
# What people type between digits: spaces, dots, dashes, brackets.
SEPARATORS = re.compile(r"[\s.\-()]")


def whatsapp_address(phone: str) -> str:
    """`phone` as a WhatsApp address (`whatsapp:+905551112233`).

    Raises ProviderRefused for a number that is not international (E.164): WhatsApp cannot
    reach it, and sending it again would not change that.
    """
    number = SEPARATORS.sub("", phone.removeprefix(PREFIX))
    if number.startswith("00"):
        number = "+" + number[2:]
    if not E164.fullmatch(number):
        raise ProviderRefused(f"{phone!r} is not an international number (+ and country code).")
    return PREFIX + number


class TwilioWhatsAppProvider(TwilioProvider):
    """Twilio's Messages API with `whatsapp:` numbers, and approved Content templates."""

    def __init__(self) -> None:  # the SMS account, without needing an SMS sender
        self.sid = getattr(settings, "TWILIO_ACCOUNT_SID", "")
        self.token = getattr(settings, "TWILIO_AUTH_TOKEN", "")
        sender = getattr(settings, "TWILIO_WHATSAPP_FROM", "")
        self.base = getattr(settings, "TWILIO_API_BASE", "https://api.twilio.com").rstrip("/")
        if not (self.sid and self.token and sender):
            raise ChannelUnavailable(
                "Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WHATSAPP_FROM to send "
                "WhatsApp via Twilio."
            )
        self.sender = PREFIX + sender.removeprefix(PREFIX)
        self.session = requests.Session()
        self.session.auth = (self.sid, self.token)

    def send_whatsapp(
        self, *, to: str, body: str, key: str, content_sid: str = "", variables: dict | None = None
    ) -> str:
        """Send one message (`content_sid`: an approved template filled with `variables`)."""
        data = {"To": to, "From": self.sender}
        if content_sid:
            data["ContentSid"] = content_sid
            data["ContentVariables"] = json.dumps(variables or {}, ensure_ascii=False)
        else:
            data["Body"] = body
        url = f"{self.base}/2010-04-01/Accounts/{self.sid}/Messages.json"
        try:
            response = self.session.post(
                url,
                data=data,
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


class ConsoleWhatsAppProvider(ConsoleProvider):
    """One JSON line per message on stdout (or SURVEY_SMS_FILE), templates and all."""

    def send_whatsapp(
        self, *, to: str, body: str, key: str, content_sid: str = "", variables: dict | None = None
    ) -> str:
        if content_sid:
            body = json.dumps({"content_sid": content_sid, "variables": variables or {}})
        return self.send(to=to, body=body, key=key)


PROVIDERS: dict[str, Callable[[], TwilioWhatsAppProvider | ConsoleWhatsAppProvider]] = {
    "console": ConsoleWhatsAppProvider,
    "twilio": TwilioWhatsAppProvider,
}


def template_variables(invitation: Invitation) -> dict[str, str]:
    """The Content template's variables: 1 = survey title, 2 = survey link, 3 = opt-out link."""
    person = invitation.person
    language = invitation.language or (person.language if person else "") or "en"
    survey_url, optout_url = links(invitation)
    with translation.override(language):
        title = _text(invitation.survey.title, language, invitation.survey.name)
    return {"1": title, "2": survey_url, "3": optout_url}


class WhatsAppChannel:
    """Sends each invitation as one WhatsApp message through the configured provider."""

    def send(
        self,
        invitations: Sequence[Invitation],
        *,
        reminder: bool = False,
        on_result: Callable[[Result], None] | None = None,
    ) -> list[Result]:
        name = getattr(settings, "SURVEY_WHATSAPP_PROVIDER", "")
        if name not in PROVIDERS:
            raise ChannelUnavailable(
                f"WhatsApp is off: SURVEY_WHATSAPP_PROVIDER is {name!r}; "
                f"use one of {list(PROVIDERS)}."
            )
        provider = PROVIDERS[name]()
        template = getattr(
            settings,
            "TWILIO_WHATSAPP_REMINDER_CONTENT_SID" if reminder else "TWILIO_WHATSAPP_CONTENT_SID",
            "",
        ) or getattr(settings, "TWILIO_WHATSAPP_CONTENT_SID", "")
        results: list[Result] = []

        def report(result: Result) -> None:
            results.append(result)
            if on_result is not None:
                on_result(result)

        for inv in invitations:
            number = inv.reminders_sent + 1 if reminder else 0
            key = message_id(inv.id, number)
            try:
                to = whatsapp_address(inv.person.phone if inv.person else "")
                provider_id = provider.send_whatsapp(
                    to=to,
                    body="" if template else body_for(inv, reminder=number),
                    key=key,
                    content_sid=template,
                    variables=template_variables(inv) if template else None,
                )
            except ChannelUnavailable:
                if not results:
                    raise  # nothing handed over yet: the whole batch can go back
                report(Result(inv.id, Outcome.UNKNOWN, detail="provider unreachable"))
            except ProviderRefused as exc:
                report(Result(inv.id, Outcome.FAILED, detail=str(exc)))
            except ProviderError as exc:
                report(Result(inv.id, Outcome.UNKNOWN, detail=str(exc)))
            else:
                report(Result(inv.id, Outcome.SENT, message_id=provider_id))
        return results
