"""Celery tasks for webhooks: thin wrappers over xmplatform.api.services.

A delivery's first attempt is owed by the outbox (`webhook.due`, see xmplatform.api.handlers).
Retries are not Celery countdowns: a failed attempt stores `next_attempt_at`, and the
`api.webhooks_retry_due_task` beat entry picks up whatever is due.
"""

from celery import shared_task
from django.utils import timezone

from xmplatform.api import services, webhooks
from xmplatform.api.models import WebhookEvent


@shared_task(name="api.webhook_deliver_task", acks_late=True, ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> str:
    """One attempt at one delivery (a no-op when it is not due or another worker has it)."""
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="api.webhooks_retry_due_task", ignore_result=True)
def webhooks_retry_due_task() -> int:
    """Beat: enqueue an attempt for every delivery whose retry is due (a failed post's backoff
    is over, or a worker died mid-post and its lease ended)."""
    ids = services.webhook_deliveries_due(now=timezone.now())
    for delivery_id in ids:
        webhook_deliver_task.delay(delivery_id)
    return len(ids)


# Messages an earlier version queued before it was upgraded; nothing enqueues these any more
# (the outbox's handlers log the deliveries). Each logs what it was sent for, idempotently.


@shared_task(name="api.webhooks_response_completed_task", acks_late=True, ignore_result=True)
def webhooks_response_completed_task(response_id: int) -> int:
    """Log a `response.completed` delivery for each subscribed webhook (none if anonymous)."""
    return services.webhook_event_publish(
        event=WebhookEvent.RESPONSE_COMPLETED,
        object_id=response_id,
        build=webhooks.response_completed_payload,
    )


@shared_task(name="api.webhooks_alert_opened_task", acks_late=True, ignore_result=True)
def webhooks_alert_opened_task(alert_id: int) -> int:
    """Log an `alert.opened` delivery for each subscribed webhook."""
    return services.webhook_event_publish(
        event=WebhookEvent.ALERT_OPENED, object_id=alert_id, build=webhooks.alert_opened_payload
    )
