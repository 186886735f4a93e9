"""Celery tasks for metrics: thin callers of metrics.services."""

import datetime as dt

from celery import shared_task

from metrics import services


@shared_task(name="metrics.rollup_day_task", acks_late=True)
def rollup_day_task(day: str) -> int:
    """Recompute the rollups of one day (ISO date); safe to re-run."""
    return services.rollup_day(day=dt.date.fromisoformat(day))


@shared_task(name="metrics.rollup_recent_task", acks_late=True)
def rollup_recent_task(days: int = 2) -> int:
    """Recompute today's and yesterday's rollups so dashboards stay minutes behind."""
    return services.rollup_recent(days=days)
