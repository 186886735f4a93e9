"""Pluggable channels that deliver invitations and reminders (e-mail, SMS).

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


def backend_for(channel: str):  # noqa: ANN201 - any object with send(); see EmailChannel
    """The configured backend instance for `channel` (settings.SURVEY_CHANNEL_BACKENDS)."""
    paths = {**DEFAULT_BACKENDS, **getattr(settings, "SURVEY_CHANNEL_BACKENDS", {})}
    if channel not in paths:
        raise ChannelUnavailable(f"No backend configured for channel {channel!r}.")
    return import_string(paths[channel])()


def message_id(invitation_id: int, reminder: int = 0) -> str:
    """A stable Message-ID / idempotency key: the invitation id (and reminder number)."""
    domain = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    suffix = f".r{reminder}" if reminder else ""
    return f"<invitation-{invitation_id}{suffix}@{domain}>"


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
