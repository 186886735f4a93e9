"""The weekly report's beat task: a thin caller of `services.weekly_reports_send`."""

import datetime as dt

from celery import shared_task

from metrics.reports import services

RETRY_SECONDS = 600


@shared_task(name="metrics.weekly_reports_task", bind=True, acks_late=True, max_retries=6)
def weekly_reports_task(self, now: str | None = None) -> int:  # noqa: ANN001 - Celery's task
    """Send this week's reports (each subscriber at most once per week); returns how many.

    When the mail server refused some, their claims were given back: retried ten minutes later
    (only those are sent then; the others' weeks are claimed).
    """
    result = services.weekly_reports_send(now=dt.datetime.fromisoformat(now) if now else None)
    if result.failed:
        raise self.retry(countdown=RETRY_SECONDS)
    return result.sent
