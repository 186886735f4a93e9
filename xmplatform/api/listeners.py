"""Hook listeners registered in ApiConfig.ready(): quick, they only enqueue a task."""

from xmplatform.api import tasks


def response_completed(response_id: int) -> None:
    """surveys calls this after the commit that completed a response."""
    tasks.webhooks_response_completed_task.delay(response_id)


def alert_opened(alert_id: int) -> None:
    """metrics calls this after the commit that opened an alert."""
    tasks.webhooks_alert_opened_task.delay(alert_id)
