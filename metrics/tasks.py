"""Celery tasks for metrics: thin callers of metrics.services."""

import datetime as dt

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from metrics import services
from metrics.closedloop import alerts


@shared_task(name="metrics.rollup_day_task", acks_late=True)
def rollup_day_task(day: str) -> int:
    """Recompute the rollups of one day (ISO date); safe to re-run."""
    return services.rollup_day(day=dt.date.fromisoformat(day))


@shared_task(name="metrics.rollup_recent_task", acks_late=True)
def rollup_recent_task(days: int = 2) -> int:
    """Recompute today's and yesterday's rollups so dashboards stay minutes behind."""
    return services.rollup_recent(days=days)


@shared_task(name="metrics.anonymous_periods_release_task", acks_late=True)
def anonymous_periods_release_task(now: str | None = None) -> int:
    """Release the anonymous responses whose batches of at least k are due, publish the periods
    that ended, and roll up the periods that changed (one transaction); returns how many."""
    at = dt.datetime.fromisoformat(now) if now else timezone.now()
    return len(services.anonymous_periods_release(now=at))


# --- The closed loop (metrics.closedloop) ----------------------------------------------------


@shared_task(
    name="metrics.response_alerts_task",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=5,
)
def response_alerts_task(response_id: int) -> list[int]:
    """Evaluate the response rules on one completed response; retrying opens nothing twice."""
    return alerts.response_alerts_open(response_id=response_id)


@shared_task(
    name="metrics.alert_notify_task",
    acks_late=True,
    autoretry_for=(alerts.MailFailed, OperationalError),
    retry_backoff=30,
    max_retries=5,
)
def alert_notify_task(alert_id: int) -> bool:
    """E-mail the assignee of one immediate alert (claimed first, so sent at most once)."""
    return alerts.alert_notify(alert_id=alert_id)


@shared_task(name="metrics.score_rules_evaluate_task", acks_late=True)
def score_rules_evaluate_task(now: str | None = None) -> list[int]:
    """Check the score rules (one alert per rule and cooldown window), then lost dispatches."""
    at = dt.datetime.fromisoformat(now) if now else None
    opened = alerts.score_rules_evaluate(now=at)
    alerts.alerts_redispatch(now=at)
    return opened


@shared_task(name="metrics.alert_digests_task", acks_late=True)
def alert_digests_task(now: str | None = None) -> int:
    """Send the daily digests of score alerts (one per user per day)."""
    return alerts.alert_digests_send(now=dt.datetime.fromisoformat(now) if now else None)
