"""Celery tasks of key-driver analysis: thin callers of metrics.drivers.services."""

from typing import Any

from celery import shared_task

from metrics.drivers import selectors, services


@shared_task(name="drivers.compute_task", acks_late=True)
def compute_task(survey_id: int, outcome: str, filters: dict[str, Any]) -> int | None:
    """Compute and cache one analysis (survey, outcome question key, canonical filters);
    idempotent: a rerun replaces the row with the same figures. Returns the row's id."""
    row = services.analysis_compute(survey_id=survey_id, outcome=outcome, filters=filters)
    return row.pk if row is not None else None


@shared_task(name="drivers.refresh_stale_task", acks_late=True)
def refresh_stale_task() -> int:
    """Recompute (one task each, on the bulk queue) the cached analyses whose survey has
    responses completed, or anonymous periods published, since they were computed."""
    stale = list(selectors.analyses_stale().values_list("survey_id", "outcome", "filters"))
    for survey_id, outcome, filters in stale:
        compute_task.apply_async(args=(survey_id, outcome, filters), queue="bulk")
    return len(stale)
