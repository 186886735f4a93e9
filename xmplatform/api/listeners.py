"""Hook listeners registered in ApiConfig.ready()."""

from xmplatform.api import services, tasks, webhooks
from xmplatform.api.models import WebhookEvent


def response_completed(response_id: int) -> None:
    """surveys calls this from its completion task (and its reconciler, for a lost task).

    The deliveries are logged here, in that same task, rather than by a task of their own: a
    completion marked announced has its deliveries in the database, and from there a lost
    attempt is only late (`webhooks_retry_due_task`). Without a subscribed webhook this costs
    one query. A response of an anonymous survey logs nothing (`webhooks.response_completed_payload`
    builds no payload for it): anonymous surveys send no per-response event.
    """
    services.webhook_event_publish(
        event=WebhookEvent.RESPONSE_COMPLETED,
        object_id=response_id,
        build=webhooks.response_completed_payload,
    )


def alert_opened(alert_id: int) -> None:
    """metrics calls this after the commit that opened an alert."""
    tasks.webhooks_alert_opened_task.delay(alert_id)
