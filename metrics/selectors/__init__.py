"""Reads: scores aggregated in SQL — exact and fresh for named surveys, guarded for anonymous ones.

`figures` (and `read` under it) is the one read behind the scores API and the dashboard:

- Named (non-anonymous) data are exact, never suppressed and fresh: the days up to the
  rollups' watermark (`RollupState.complete_through`) come from the daily rollups, later days
  (today) from the answers themselves, and the two are summed (`Agg` is additive), so a
  response counts as soon as it is completed, without waiting for a rollup.
- Anonymous data go through `metrics.privacy`: published (ended) reporting periods only, whole,
  blocks of at least k, small cells, complements and overlaps hidden; an open period shows
  nothing, not even its total.
- Only released responses count, on both paths. Reads never write.

Every source is one aggregate query: category counts with `Count(filter=Q(...))`, Σx and Σx²
(variance comes from sums because SQLite has no StdDev). Formulas live in `definitions`.

By topic: `slices` (metrics, dimensions, filters, aggregates), `reads` (the one read and its
scope), `scores` (score rows, comparisons, trends), `operations` (response rates, operational
metrics, Return on Experience). The closed loop's reads are in `metrics.closedloop.selectors`.
"""

from metrics.selectors.operations import (
    NPS_CATEGORIES,
    answers_counted,
    event_sums,
    invitations_counted,
    nps_answers_named,
    nps_category,
    operational_metrics,
    outcomes_after,
    response_rates,
    return_on_experience,
)
from metrics.selectors.reads import (
    Figures,
    PeriodInfo,
    Scope,
    SurveyInfo,
    period_start,
    read,
    read_scope,
)
from metrics.selectors.scores import (
    Report,
    compare_periods,
    comparison_of,
    figures,
    headline_metric,
    previous_period_start,
    rows_of,
    score_rows,
    score_rows_of,
    scores,
    trend,
)
from metrics.selectors.slices import (
    ALL_FIELDS,
    ATTRIBUTE_PREFIX,
    DIMENSIONS,
    MEAN_METRICS,
    METRIC_FIELDS,
    METRIC_LABELS,
    METRIC_QUESTION_TYPE,
    PERIODS,
    QUESTION_TYPE,
    SCALE,
    SIDE,
    Agg,
    Filters,
    UnknownSlice,
    agg_sum,
    aggregate,
    answers_scored,
    raw_aggregates,
    rollup_aggregates,
    rollups,
    score_from,
)

__all__ = [
    "ALL_FIELDS",
    "ATTRIBUTE_PREFIX",
    "Agg",
    "DIMENSIONS",
    "Figures",
    "Filters",
    "MEAN_METRICS",
    "METRIC_FIELDS",
    "METRIC_LABELS",
    "METRIC_QUESTION_TYPE",
    "NPS_CATEGORIES",
    "PERIODS",
    "PeriodInfo",
    "QUESTION_TYPE",
    "Report",
    "SCALE",
    "SIDE",
    "Scope",
    "SurveyInfo",
    "UnknownSlice",
    "agg_sum",
    "aggregate",
    "answers_counted",
    "answers_scored",
    "compare_periods",
    "comparison_of",
    "event_sums",
    "figures",
    "headline_metric",
    "invitations_counted",
    "nps_answers_named",
    "nps_category",
    "operational_metrics",
    "outcomes_after",
    "period_start",
    "previous_period_start",
    "raw_aggregates",
    "read",
    "read_scope",
    "response_rates",
    "return_on_experience",
    "rollup_aggregates",
    "rollups",
    "rows_of",
    "score_from",
    "score_rows",
    "score_rows_of",
    "scores",
    "trend",
]
