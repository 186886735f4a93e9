"""Celery tasks for metrics: thin callers of metrics.services and the closed loop."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from metrics import services
from metrics.closedloop import notifications, score_rules
from metrics.reports.tasks import weekly_reports_task  # noqa: F401 - registered with the worker


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


# --- The closed loop (metrics.closedloop); response rules and alert e-mails run from the outbox


@shared_task(name="metrics.score_rules_evaluate_task", acks_late=True)
def score_rules_evaluate_task(now: str | None = None) -> list[int]:
    """Check the score rules (one alert per rule and cooldown window)."""
    return score_rules.score_rules_evaluate(now=dt.datetime.fromisoformat(now) if now else None)


@shared_task(name="metrics.alert_digests_task", acks_late=True)
def alert_digests_task(now: str | None = None) -> int:
    """Send the daily digests of score alerts (one per user per day)."""
    return notifications.alert_digests_send(now=dt.datetime.fromisoformat(now) if now else None)
