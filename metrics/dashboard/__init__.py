"""Reads that assemble the admin dashboard pages, in a bounded number of queries.

Every figure comes from `metrics.selectors.read` (survey metrics: exact and fresh for named
surveys, guarded for anonymous ones, `metrics.privacy`) or `metrics.selectors.series`
(response rates and operational metrics). Reads never write.

By topic: `catalog` (the metric picker: metrics, units, ranges, colour bands), `panels` (the
chosen metric's figures of any kind), `audience` (one audience's page), `cards` (the index),
`charts` (SVG geometry and period names), `verbatims` (comments), `export` (charts' CSV).
"""

from metrics.dashboard.audience import OPERATION_ROWS, WORST, audience_page, insight_links
from metrics.dashboard.cards import CARD_METRICS, SPARK_MONTHS, index_cards
from metrics.dashboard.catalog import METRICS, bucket, legend, metric_range
from metrics.dashboard.charts import (
    CHART_H,
    CHART_W,
    Window,
    chart_points,
    margin_band,
    period_label,
    polyline,
)
from metrics.dashboard.export import CHARTS, chart_csv
from metrics.dashboard.verbatims import VERBATIMS

__all__ = [
    "CARD_METRICS",
    "CHARTS",
    "CHART_H",
    "CHART_W",
    "METRICS",
    "OPERATION_ROWS",
    "SPARK_MONTHS",
    "VERBATIMS",
    "WORST",
    "Window",
    "audience_page",
    "bucket",
    "chart_csv",
    "chart_points",
    "index_cards",
    "insight_links",
    "legend",
    "margin_band",
    "metric_range",
    "period_label",
    "polyline",
]
