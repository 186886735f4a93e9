"""Celery tasks of key-driver analysis: thin callers of metrics.drivers.services."""

import logging
from typing import Any

from celery import shared_task
from django.core.cache import cache
from kombu.exceptions import OperationalError

from metrics.drivers import selectors, services
from metrics.drivers.matrix import DriverFilters

logger = logging.getLogger(__name__)
# An analysis asked for again within this many seconds is not enqueued twice.
REQUEST_SECONDS = 120
# All-time analyses computed per beat run for outcome questions that have none yet.
MISSING_PER_RUN = 20


@shared_task(name="drivers.compute_task", acks_late=True)
def compute_task(survey_id: int, outcome: str, filters: dict[str, Any]) -> int | None:
    """Compute and cache one analysis (survey, outcome question key, canonical filters);
    idempotent: a rerun replaces the row with the same figures. Returns the row's id."""
    row = services.analysis_compute(survey_id=survey_id, outcome=outcome, filters=filters)
    cache.delete(_request_key(survey_id, outcome, DriverFilters.from_canonical(filters)))
    return row.pk if row is not None else None


@shared_task(name="drivers.refresh_stale_task", acks_late=True)
def refresh_stale_task() -> int:
    """Recompute (one task each, on the bulk queue) the cached analyses whose survey has
    responses completed, or anonymous periods published, since they were computed; compute
    the missing all-time analyses of outcome questions (a few per run); forget old filtered
    ones. Returns how many computations were enqueued."""
    services.analyses_prune()
    stale = list(selectors.analyses_stale().values_list("survey_id", "outcome", "filters"))
    everything = DriverFilters().canonical()
    missing = [
        (survey_id, outcome, everything)
        for survey_id, outcome in selectors.analyses_missing(limit=MISSING_PER_RUN)
    ]
    for survey_id, outcome, filters in [*stale, *missing]:
        compute_task.apply_async(args=(survey_id, outcome, filters), queue="bulk")
    return len(stale) + len(missing)


def compute_requested(*, survey_id: int, outcome: str, filters: DriverFilters) -> None:
    """Enqueue the computation of an analysis a reader found missing: once per (survey,
    outcome, filters) however many readers ask meanwhile (a marker in the cache, cleared by the
    task, expiring after two minutes should a worker die), never failing the reader when the
    broker is down. Eager mode computes it here."""
    key = _request_key(survey_id, outcome, filters)
    if not cache.add(key, 1, REQUEST_SECONDS):
        return
    try:
        compute_task.delay(survey_id, outcome, filters.canonical())
    except OperationalError:
        cache.delete(key)
        logger.warning("drivers: broker unavailable, analysis not enqueued")


def _request_key(survey_id: int, outcome: str, filters: DriverFilters) -> str:
    return f"drivers:requested:{survey_id}:{outcome}:{filters.key}"
