"""What the API does when the domain says something happened (xmplatform/flows.py).

The relay of the outbox (xmplatform.core.outbox) calls these, each in a transaction that also
marks its outbox row done. The first three log one webhook delivery per subscribed webhook
(nothing subscribed: one query) and owe the deliveries' first attempt in that same
transaction (`webhook.due`); `webhook_due_handler` makes that attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

from xmplatform.api import services, webhooks
from xmplatform.api.models import WebhookEvent
from xmplatform.core.models import OutboxMessage

logger = logging.getLogger(__name__)


def response_completed_handler(*, message_id: int, response_id: int) -> None:
    """`response.completed`: log its deliveries. An anonymous survey's response logs nothing
    (`webhooks.response_completed_payload` builds no payload for it)."""
    services.webhook_event_publish(
        event=WebhookEvent.RESPONSE_COMPLETED,
        object_id=response_id,
        build=webhooks.response_completed_payload,
    )


def alert_opened_handler(*, message_id: int, alert_id: int) -> None:
    """`alert.opened`: log its deliveries."""
    services.webhook_event_publish(
        event=WebhookEvent.ALERT_OPENED, object_id=alert_id, build=webhooks.alert_opened_payload
    )


def case_changed_handler(*, message_id: int, case_id: int) -> None:
    """`case.changed`: log its deliveries, one per webhook for each change (the outbox message
    tells the changes apart; it was written with the change, so it also says when)."""

    def build(object_id: int) -> webhooks.Built | None:
        changed_at = (
            OutboxMessage.objects.filter(pk=message_id).values_list("created_at", flat=True).first()
        )
        return webhooks.case_changed_payload(object_id, changed_at=changed_at or timezone.now())

    services.webhook_event_publish(
        event=WebhookEvent.CASE_CHANGED, object_id=case_id, build=build, change=message_id
    )


def webhook_due_handler(*, message_id: int, delivery_ids: list[int]) -> None:
    """`webhook.due`: claim the deliveries, then post them once the claims are committed.

    The claims commit with this outbox row marked done; the posts follow the commit, so no
    transaction stays open while a receiver answers. If this worker dies before or during a
    post, the delivery's lease ends and the retry beat posts it; if it dies before the commit,
    nothing was claimed and the outbox runs this again. A delivery already attempted or taken
    by another worker is left alone. A receiver that fails is the webhook's own retry, recorded
    on the delivery (never an outbox failure).
    """
    now = timezone.now()
    claimed = [
        delivery_id
        for delivery_id in delivery_ids
        if services.webhook_delivery_claim(delivery_id=delivery_id, now=now)
    ]
    if claimed:
        transaction.on_commit(partial(deliveries_post, claimed), robust=True)


def deliveries_post(delivery_ids: Sequence[int]) -> None:
    """Post claimed deliveries one after the other; one that cannot be recorded (the database
    is away) is logged and left to the retry beat once its lease ends."""
    for delivery_id in delivery_ids:
        try:
            services.webhook_delivery_post(delivery_id=delivery_id)
        # Whatever breaks one post must not keep the others from theirs.
        except Exception:  # noqa: BLE001
            logger.exception(
                "Webhook delivery %s: attempt not recorded; retried after its lease.", delivery_id
            )
