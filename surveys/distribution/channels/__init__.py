"""Pluggable channels that deliver invitations and reminders (e-mail, SMS, WhatsApp).

A backend gets a batch of invitations it may send (already claimed as `sending`) and returns,
per invitation, what happened. It opens its connection before the first message so a refused
connection can hand the whole batch back unsent; after a message has been handed over, an
error means "unknown", never "retry". A backend whose `send` takes `on_result` also reports
each outcome as soon as it is known, so the sender records them as the batch goes.
"""

import enum
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from surveys.models import Invitation


class Outcome(enum.Enum):
    SENT = "sent"
    FAILED = "failed"  # the provider refused it for good (bad address): never retried
    UNKNOWN = "unknown"  # it may or may not have left: never re-sent automatically


@dataclass(frozen=True)
class Result:
    invitation_id: int
    outcome: Outcome
    message_id: str = ""
    detail: str = ""


class ChannelUnavailable(Exception):
    """The provider could not be reached before anything was handed over: safe to retry."""


DEFAULT_BACKENDS = {
    "email": "surveys.distribution.channels.email.EmailChannel",
    "sms": "surveys.distribution.channels.sms.SmsChannel",
}


WHATSAPP_BACKEND = "surveys.distribution.channels.whatsapp.WhatsAppChannel"


def backends() -> dict[str, str]:
    """Channel → backend path, for the channels the platform can deliver now.

    E-mail and SMS always; WhatsApp only once SURVEY_WHATSAPP_PROVIDER names a provider (a
    channel without one is neither offered to rules nor accepted on request, rather than
    planned and failed). settings.SURVEY_CHANNEL_BACKENDS adds or replaces backends.
    """
    paths = dict(DEFAULT_BACKENDS)
    if getattr(settings, "SURVEY_WHATSAPP_PROVIDER", ""):
        paths["whatsapp"] = WHATSAPP_BACKEND
    return {**paths, **getattr(settings, "SURVEY_CHANNEL_BACKENDS", {})}


def backend_for(channel: str):  # noqa: ANN201 - any object with send(); see EmailChannel
    """The configured backend instance for `channel` (see `backends`)."""
    paths = backends()
    if channel not in paths:
        raise ChannelUnavailable(f"No backend configured for channel {channel!r}.")
    return import_string(paths[channel])()


def mail_domain() -> str:
    """The platform's host name (from SITE_URL): the right side of Message-IDs and List-Ids."""
    return settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"


def message_id(invitation_id: int, reminder: int = 0) -> str:
    """A stable Message-ID / idempotency key: the invitation id (and reminder number)."""
    suffix = f".r{reminder}" if reminder else ""
    return f"<invitation-{invitation_id}{suffix}@{mail_domain()}>"


def send(
    channel: str,
    invitations: Sequence[Invitation],
    *,
    reminder: bool = False,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Deliver `invitations` (all on `channel`) and report each outcome; `on_result` hears of
    each one as it is known when the backend can tell (else only the returned list does)."""
    backend = backend_for(channel)
    if on_result is not None and "on_result" in inspect.signature(backend.send).parameters:
        return backend.send(invitations, reminder=reminder, on_result=on_result)
    return backend.send(invitations, reminder=reminder)
