"""Writes of key-driver analysis: compute one analysis and store it in the cache (an upsert).

Missing values: a driver answered by fewer than half of the rows is left out; the others'
unanswered cells take the column's mean (mean imputation: it keeps n and leaves the column's
mean unchanged, at the cost of slightly weaker correlations for drivers with gaps). Columns
that do not vary (every respondent passed the survey's own touchpoint) are left out.
Performance is read on the answered cells only: a scored driver's mean on 0–100 of its scale,
an indicator's or touchpoint's share (%) of rows with 1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import numpy as np
from django.conf import settings
from django.utils import timezone

from metrics import privacy
from metrics.drivers import analysis
from metrics.drivers.matrix import OUTCOME_TYPES, DriverFilters, Matrix, matrix_build
from metrics.drivers.models import DriverAnalysis
from surveys.models import Question, Survey

# Reason codes stored with an analysis that has no results (messages: selectors.reason_text).
TOO_FEW = "too_few"
NO_DRIVERS = "no_drivers"
NO_VARIATION = "no_variation"
NO_PUBLISHED_PERIOD = "no_published_period"
SEGMENT_HIDDEN = "segment_hidden"
MIN_ANSWERED_SHARE = 0.5
# Filtered analyses are kept this long after they were first asked for.
PRUNE_DAYS = 30


def seed_of(*, survey_id: int, outcome: str, filters_key: str) -> int:
    """The bootstrap's seed: fixed per (survey, outcome, filters), so a recompute over the same
    rows gives the same intervals."""
    digest = hashlib.sha256(f"{survey_id}|{outcome}|{filters_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def analysis_run(matrix: Matrix, *, seed: int, rounds: int, min_n: int) -> dict[str, Any]:
    """Weigh the drivers of a matrix: {n, r2, results, reason, reason_params}.

    Results are ranked by importance (shares summing to 1) with their 95 % bootstrap interval,
    performance and correlation with the outcome (its sign says which way the driver pulls).
    """
    n = matrix.n
    base: dict[str, Any] = {"n": n, "r2": None, "results": [], "reason": "", "reason_params": {}}
    if matrix.reason:
        return {**base, "reason": matrix.reason, "reason_params": matrix.reason_params}
    if n < min_n:
        return {**base, "reason": TOO_FEW, "reason_params": {"n": n, "min": min_n}}
    if np.ptp(matrix.y) == 0:
        return {**base, "reason": NO_VARIATION}
    x = matrix.x
    answered = ~np.isnan(x)
    counts = answered.sum(axis=0)
    keep = counts >= MIN_ANSWERED_SHARE * n
    sums = np.where(answered, x, 0.0).sum(axis=0)
    means = np.divide(sums, counts, out=np.zeros(x.shape[1]), where=counts > 0)
    x = np.where(answered, x, means)
    keep &= np.ptp(x, axis=0) > 0
    index = np.flatnonzero(keep)
    if index.size == 0:
        return {**base, "reason": NO_DRIVERS}
    x = x[:, index]
    weights = analysis.relative_weights(x, matrix.y)
    low, high = analysis.intervals(
        analysis.bootstrap_shares(x, matrix.y, rounds=rounds, seed=seed), weights.importance
    )
    corr = analysis.correlation(x, matrix.y)[:-1, -1]
    results: list[dict[str, Any]] = []
    for j, col_index in enumerate(index):
        column = matrix.columns[col_index]
        mean = float(means[col_index])
        if column.scale is not None:
            lo, hi = column.scale
            performance = (mean - lo) / (hi - lo) * 100
        else:
            performance = mean * 100
        results.append(
            {
                "driver": column.driver,
                "kind": column.kind,
                "labels": column.labels,
                "importance": round(float(weights.importance[j]), 6),
                "low": round(float(low[j]), 6),
                "high": round(float(high[j]), 6),
                "performance": round(performance, 2),
                "correlation": round(float(corr[j]), 4),
            }
        )
    results.sort(key=lambda r: (-r["importance"], r["driver"]))
    return {**base, "r2": round(weights.r2, 6), "results": results}


def analysis_compute(
    *, survey_id: int, outcome: str, filters: dict[str, Any], now: dt.datetime | None = None
) -> DriverAnalysis | None:
    """Compute the analysis of `outcome` (a question key) of a survey under canonical
    `filters` ({"from", "to", "segment"}) and store it, replacing the cached one. Idempotent:
    the same rows give the same row (the seed is fixed). None when the survey or outcome
    question is gone or is not an outcome."""
    survey = Survey.objects.select_related("audience").filter(pk=survey_id).first()
    if survey is None:
        return None
    question = Question.objects.filter(survey=survey, key=outcome, type__in=OUTCOME_TYPES).first()
    if question is None:
        return None
    parsed = DriverFilters.from_canonical(filters)
    now = now or timezone.now()
    matrix = matrix_build(
        survey=survey,
        outcome=question,
        filters=parsed,
        k=privacy.threshold(survey.audience.anonymity_threshold),
        touchpoint_days=settings.DRIVERS_TOUCHPOINT_DAYS,
    )
    with analysis.one_blas_thread():
        found = analysis_run(
            matrix,
            seed=seed_of(survey_id=survey.pk, outcome=outcome, filters_key=parsed.key),
            rounds=settings.DRIVERS_BOOTSTRAP_ROUNDS,
            min_n=settings.DRIVERS_MIN_RESPONSES,
        )
    row = DriverAnalysis(
        survey=survey,
        outcome=outcome,
        filters_key=parsed.key,
        filters=parsed.canonical(),
        n=found["n"],
        r2=found["r2"],
        results=found["results"],
        reason=found["reason"],
        reason_params=found["reason_params"],
        computed_at=now,
        source_watermark=matrix.watermark,
        requested_at=now,
    )
    # One statement, race-free: the unique (survey, outcome, filters) row is inserted or
    # replaced; requested_at keeps the first request's time.
    DriverAnalysis.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["survey", "outcome", "filters_key"],
        update_fields=[
            "filters",
            "n",
            "r2",
            "results",
            "reason",
            "reason_params",
            "computed_at",
            "source_watermark",
        ],
    )
    return DriverAnalysis.objects.get(survey=survey, outcome=outcome, filters_key=parsed.key)


def analyses_prune(*, now: dt.datetime | None = None) -> int:
    """Forget filtered analyses first asked for more than PRUNE_DAYS ago (ad-hoc windows and
    segments would otherwise be recomputed forever); all-time analyses stay. A reader asking
    again has it recomputed. Returns how many went."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=PRUNE_DAYS)
    deleted, _ = (
        DriverAnalysis.objects.filter(requested_at__lt=cutoff)
        .exclude(filters_key=DriverFilters().key)
        .delete()
    )
    return deleted
