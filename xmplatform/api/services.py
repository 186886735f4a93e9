"""Writes of the API layer: keys, and webhook deliveries (created, attempted, retried).

Logging deliveries owes their first attempt through the outbox (`webhook.due`, in the same
transaction). An attempt claims its delivery with a conditional UPDATE that also pushes
`next_attempt_at` out by a lease, so two workers never post the same attempt, and a worker
that dies mid-post leaves a row the retry beat picks up once the lease ends. Delays live in
the database (`next_attempt_at`), never as broker ETAs (see ENGINEERING-NOTES on visibility
timeouts).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from audiences.models import Audience
from xmplatform.api import destinations, keys, signing
from xmplatform.api.models import ApiKey, DeliveryState, Webhook, WebhookDelivery
from xmplatform.core.outbox import outbox_emit

LEASE = dt.timedelta(minutes=5)
POST_TIMEOUT_SECONDS = 10
ERROR_MAX_CHARS = 1000


# --- Keys ------------------------------------------------------------------------------------


def api_key_issue(*, api_key: ApiKey) -> str:
    """Give an unsaved key its material and save it; returns the plain key (shown once)."""
    plain, prefix = keys.key_new()
    api_key.prefix = prefix
    api_key.key_hash = keys.key_hash(plain)
    api_key.save(force_insert=True)
    return plain


@transaction.atomic
def api_key_create(
    *,
    name: str,
    audiences: Iterable[Audience] = (),
    read_only: bool = False,
    rate_per_minute: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plain text (the only time it exists outside)."""
    api_key = ApiKey(name=name, read_only=read_only)
    if rate_per_minute is not None:
        api_key.rate_per_minute = rate_per_minute
    plain = api_key_issue(api_key=api_key)
    api_key.audiences.set(list(audiences))
    return api_key, plain


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revoke a key now; returns False if it was already revoked."""
    now = timezone.now()
    changed = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    api_key.revoked_at = api_key.revoked_at or now
    return changed == 1


def api_key_touch(*, api_key: ApiKey, now: dt.datetime) -> None:
    """Record use at most once a minute, so authentication rarely writes."""
    if api_key.last_used_at is None or api_key.last_used_at < now - dt.timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now


# --- Webhooks --------------------------------------------------------------------------------


def _max_attempts() -> int:
    return int(settings.WEBHOOK_MAX_ATTEMPTS)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the `attempts`-th failure: base, 2×base, 4×base… (≤ 6 h)."""
    base = float(settings.WEBHOOK_RETRY_BASE_SECONDS)
    return min(dt.timedelta(seconds=base * 2 ** max(attempts - 1, 0)), dt.timedelta(hours=6))


def webhooks_subscribed(*, event: str) -> list[Webhook]:
    """Active webhooks subscribed to `event` (a small table, filtered here: JSON lists
    cannot be searched the same way on SQLite and PostgreSQL)."""
    return [
        w for w in Webhook.objects.filter(active=True).order_by("id") if event in (w.events or [])
    ]


def webhook_event_publish(
    *, event: str, object_id: int, build: Callable[[int], Any], change: int = 0
) -> int:
    """Log one delivery of `event` per subscribed webhook; returns how many were logged.

    `build(object_id)` returns the payload (a `webhooks.Built`), or None when the object is
    gone; it is called only when some webhook is subscribed, so the usual case costs one query.
    `change` tells apart the changes of an object that changes more than once (see
    `WebhookDelivery.change`).
    """
    subscribed = webhooks_subscribed(event=event)
    if not subscribed:
        return 0
    built = build(object_id)
    if built is None:
        return 0
    return len(
        webhook_deliveries_create(
            event=event,
            object_id=object_id,
            change=change,
            payload=built.payload,
            person_id=built.person_id,
            webhooks=[w for w in subscribed if w.audience_id in (None, built.audience_id)],
        )
    )


@transaction.atomic
def webhook_deliveries_create(
    *,
    event: str,
    object_id: int,
    payload: dict[str, Any],
    webhooks: Sequence[Webhook],
    person_id: int | None = None,
    change: int = 0,
) -> list[int]:
    """One pending delivery per webhook (idempotent: an event is logged once per webhook).

    `person_id` names the person the payload is about: erasing them deletes the delivery.
    The first attempt is owed in the same transaction: an outbox `webhook.due` naming the
    new ids, so a broker that is down when this commits delays the post, never loses it.
    """
    if not webhooks:
        return []
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                webhook=w,
                event=event,
                object_id=object_id,
                change=change,
                payload=payload,
                person_id=person_id,
                next_attempt_at=now,
            )
            for w in webhooks
        ],
        ignore_conflicts=True,
    )
    ids = list(
        WebhookDelivery.objects.filter(
            webhook__in=webhooks, event=event, object_id=object_id, change=change, attempts=0
        ).values_list("id", flat=True)
    )
    if ids:
        outbox_emit("webhook.due", delivery_ids=ids)
    return ids


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed) for a payload."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def webhook_delivery_claim(*, delivery_id: int, now: dt.datetime) -> bool:
    """Take a due delivery for one attempt: False when it is not pending, not due, or another
    worker holds it. The claim counts the attempt and leases the row for LEASE: a worker that
    dies mid-post leaves it to the retry beat once the lease ends."""
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1, last_attempt_at=now)
    )


def webhook_delivery_attempt(*, delivery_id: int, now: dt.datetime | None = None) -> str:
    """Claim one due delivery, post it and record the outcome; returns the delivery's state,
    or "skipped" when it could not be claimed (see `webhook_delivery_claim`)."""
    if not webhook_delivery_claim(delivery_id=delivery_id, now=now or timezone.now()):
        return "skipped"
    return webhook_delivery_post(delivery_id=delivery_id)


def webhook_delivery_post(*, delivery_id: int) -> str:
    """Post a delivery claimed by this worker and record the outcome; returns its state.

    A failure (no 2xx, no answer, a refused address) is the webhook's own: recorded on the
    delivery with the next attempt after a backoff, or the delivery given up after the last.
    """
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    body = body_bytes(delivery.payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "xmplatform-webhooks/1",
        "X-XM-Event": delivery.event,
        "X-XM-Delivery": str(delivery.pk),
        signing.HEADER: signing.signature_header(
            secret=delivery.webhook.secret, body=body, timestamp=int(now.timestamp())
        ),
    }
    status: int | None = None
    error = ""
    try:
        # Resolved and checked again now (DNS can change since the save), posted to the checked
        # address; only the status is kept of the reply, never its body.
        status = destinations.post(
            delivery.webhook.url, data=body, headers=headers, timeout=POST_TIMEOUT_SECONDS
        )
        if not 200 <= status < 300:
            error = status_line(status)
    except destinations.Refused as refused:
        with translation.override("en"):
            error = f"Refused: {refused}"
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    return _delivery_record(delivery=delivery, status=status, error=error, now=timezone.now())


def status_line(status: int) -> str:
    """`HTTP 503 Service Unavailable`: the standard reason phrase, not the receiver's own."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _delivery_record(
    *, delivery: WebhookDelivery, status: int | None, error: str, now: dt.datetime
) -> str:
    rows = WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING)
    if not error:
        rows.update(
            state=DeliveryState.DELIVERED,
            status_code=status,
            error="",
            delivered_at=now,
            next_attempt_at=None,
        )
        return DeliveryState.DELIVERED
    if delivery.attempts >= _max_attempts():
        rows.update(
            state=DeliveryState.FAILED,
            status_code=status,
            error=error[:ERROR_MAX_CHARS],
            next_attempt_at=None,
        )
        return DeliveryState.FAILED
    rows.update(
        status_code=status,
        error=error[:ERROR_MAX_CHARS],
        next_attempt_at=now + retry_delay(delivery.attempts),
    )
    return DeliveryState.PENDING


def webhook_secret_rotate(*, webhook: Webhook) -> str:
    """A new signing secret for `webhook` (receivers must switch to it)."""
    webhook.secret = keys.webhook_secret_new()
    Webhook.objects.filter(pk=webhook.pk).update(secret=webhook.secret)
    return webhook.secret


def webhook_deliveries_due(*, now: dt.datetime, limit: int = 200) -> list[int]:
    """Deliveries attempted before whose next attempt is due: a failed post's backoff is over,
    or the lease of a worker that died mid-post ended. A delivery never attempted is not here:
    its first attempt is owed by the outbox (`webhook.due`), whatever happened to the broker."""
    return list(
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, next_attempt_at__lte=now, attempts__gte=1
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def webhook_deliveries_retry(*, ids: Sequence[int], now: dt.datetime | None = None) -> int:
    """An operator's "retry now": failed or pending deliveries become due again."""
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        id__in=ids, state__in=[DeliveryState.PENDING, DeliveryState.FAILED]
    ).update(state=DeliveryState.PENDING, next_attempt_at=now)
