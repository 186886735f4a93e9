"""Reads that assemble the admin dashboard pages from rollups, in a bounded number of queries."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from metrics import selectors as s
from metrics.models import DailyRollup, OperationsSnapshot, Verbatim
from metrics.services import Shown, published_scores_stabilise
from surveys.models import SCORED_TYPES, Question, QuestionType, Survey

SPARK_MONTHS = 12
VERBATIMS = 8
WORST = 5
CHART_W, CHART_H = 640, 200
SPARK_W, SPARK_H = 160, 36
OPERATION_ROWS = (
    ("customers_at_start", _("Customers at the start"), "", 0),
    ("churn_rate", _("Churn rate"), " %", 1),
    ("retention_rate", _("Customer retention rate (CRR)"), " %", 1),
    ("clv", _("Customer lifetime value (gross)"), "", 2),
    ("referral_rate", _("Referral rate"), " %", 1),
    ("aht", _("Average handling time (seconds)"), "", 0),
    ("fcr", _("First-contact resolution"), " %", 1),
    ("trial_to_paid", _("Trial-to-paid conversion"), " %", 1),
)


@dataclass(frozen=True)
class Window:
    """The period a page looks at."""

    date_from: dt.date | None
    date_to: dt.date
    days: int | None


def metric_range(metric: str, scale: int | None = None) -> tuple[float, float]:
    """The possible range of a metric's values (for colours and chart axes)."""
    if metric in ("nps", "enps"):
        return -100.0, 100.0
    if metric == "csat":
        return 0.0, 100.0
    return 1.0, float(scale or 5)


def bucket(metric: str, value: float | None, scale: int | None = None) -> int | None:
    """0 (worst) … 4 (best): the heatmap colour class of a value."""
    if value is None:
        return None
    low, high = metric_range(metric, scale)
    share = (value - low) / (high - low) if high > low else 0.0
    return max(0, min(4, int(share * 5)))


def polyline(values: list[float | None], *, low: float, high: float, w: int, h: int) -> str:
    """SVG polyline points for values on [low, high]; gaps (None) are skipped."""
    if not values:
        return ""
    step = w / max(len(values) - 1, 1)
    span = (high - low) or 1.0
    points = []
    for i, v in enumerate(values):
        if v is None:
            continue
        y = h - (v - low) / span * h
        points.append(f"{i * step:.1f},{y:.1f}")
    return " ".join(points)


def _month_start(day: dt.date, months_back: int) -> dt.date:
    month = day.month - months_back
    year = day.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def index_cards(*, today: dt.date, audience_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """One card per audience: headline score, n, margin, monthly sparkline, response rate.

    `audience_ids` limits the cards to those audiences (None: all of them).

    Queries: audiences, one grouped rollup query (audience × type × month), response rates,
    and the published-score read/writes — whatever the number of audiences or answers.
    """
    audiences = list(Audience.objects.all())
    rollups = DailyRollup.objects.all()
    if audience_ids is not None:
        audiences = [a for a in audiences if a.pk in set(audience_ids)]
        rollups = rollups.filter(audience_id__in=audience_ids)
    since = _month_start(today, SPARK_MONTHS - 1)
    rows = (
        rollups.filter(day__gte=since, question_type__in=[QuestionType.NPS, QuestionType.CSAT])
        .values("audience_id", "question_type", month=s.Trunc("day", "month"))
        .annotate(**s._rollup_aggregates())
        .order_by()
    )
    by_audience: dict[int, dict[str, dict[dt.date, s.Agg]]] = {}
    for rec in rows:
        month = rec["month"]
        if isinstance(month, dt.datetime):
            month = month.date()
        agg = s.Agg(**{k: rec[k] for k in s.ALL_FIELDS})  # type: ignore[literal-required]
        per_type = by_audience.setdefault(rec["audience_id"], {})
        per_type.setdefault(rec["question_type"], {})[month] = agg
    months = [_month_start(today, k) for k in range(SPARK_MONTHS - 1, -1, -1)]
    rates = s.response_rates(audience_ids=[a.pk for a in audiences], date_from=since)
    cards: list[dict[str, Any]] = []
    shown: list[Shown] = []
    for audience in audiences:
        found = by_audience.get(audience.pk, {})
        metric = s.headline_metric(audience, set(found))
        card: dict[str, Any] = {
            "audience": audience,
            "metric": metric,
            "label": s.METRIC_LABELS.get(metric or "", ""),
            "response_rate": rates.get(audience.pk),
            "threshold": audience.anonymity_threshold,
        }
        if metric is not None:
            monthly = found[s.METRIC_QUESTION_TYPE[metric]]
            total = _sum_aggs(monthly.values())
            score = s.score_from(metric, total)
            row: dict[str, Any] = {
                "group": None,
                "score": score.value,
                "n": score.n,
                "margin": score.margin,
            }
            if score.n < audience.anonymity_threshold:
                row = {"group": None, "suppressed": True, "n": score.n}
            card["row"] = row
            shown.append(
                Shown(
                    key=s.slice_key(
                        audience_id=audience.pk,
                        metric=metric,
                        by="card",
                        group=since,
                        filters=s.Filters(audience_id=audience.pk),
                    ),
                    audience_id=audience.pk,
                    threshold=audience.anonymity_threshold,
                    row=row,
                )
            )
            spark = []
            for month in months:
                month_agg = monthly.get(month)
                value = None
                if month_agg is not None and month_agg.n >= audience.anonymity_threshold:
                    value = s.score_from(metric, month_agg).value
                spark.append(value)
            low, high = metric_range(metric)
            card["spark"] = polyline(spark, low=low, high=high, w=SPARK_W, h=SPARK_H)
        cards.append(card)
    published_scores_stabilise(shown=shown)
    return cards


def _sum_by(cells: dict[tuple[Any, ...], s.Agg], position: int) -> dict[Any, s.Agg]:
    """Sum grid cells over every key part but the one at `position`."""
    groups: dict[Any, list[s.Agg]] = {}
    for key, agg in cells.items():
        groups.setdefault(key[position], []).append(agg)
    return {group: _sum_aggs(aggs) for group, aggs in groups.items()}


def _sum_aggs(aggs: Any) -> s.Agg:
    fields = list(s.Agg.__dataclass_fields__)
    totals = dict.fromkeys(fields, 0)
    for agg in aggs:
        for f in fields:
            totals[f] += getattr(agg, f)
    return s.Agg(**totals)


def audience_page(
    *,
    audience: Audience,
    window: Window,
    segment: str | None,
    survey_id: int | None,
) -> dict[str, Any]:
    """Everything on one audience's page; the query count does not grow with the data."""
    filters = s.Filters(
        audience_id=audience.pk,
        date_from=window.date_from,
        date_to=window.date_to,
        survey_id=survey_id,
        segment=segment,
    )
    threshold = audience.anonymity_threshold
    # What the audience asks decides its headline; the questions table is tiny next to rollups.
    types = set(
        Question.objects.filter(survey__audience=audience, type__in=list(SCORED_TYPES))
        .values_list("type", flat=True)
        .distinct()
        .order_by()
    )
    metric = s.headline_metric(audience, types)
    # Segments that have answers in the period (bounded by the window, not all history).
    rollups_in_window = DailyRollup.objects.filter(audience_id=audience.pk)
    if window.date_from is not None:
        rollups_in_window = rollups_in_window.filter(day__gte=window.date_from)
    page: dict[str, Any] = {
        "metric": metric,
        "label": s.METRIC_LABELS.get(metric or "", ""),
        "threshold": threshold,
        "surveys": list(Survey.objects.filter(audience=audience).only("id", "name")),
        "segments": list(
            rollups_in_window.exclude(segment="")
            .values_list("segment", flat=True)
            .distinct()
            .order_by("segment")
        ),
        "response_rate": s.response_rates(
            audience_ids=[audience.pk], date_from=window.date_from
        ).get(audience.pk),
    }
    # Cases of every survey and segment in the period: the closed loop is the team's work.
    page["closed_loop"] = s.closed_loop(
        audience=audience, date_from=window.date_from, date_to=window.date_to
    )
    if metric is None:
        return page
    if segment is not None and _segment_hidden(audience, metric, filters, segment):
        # Shown alone, this segment could be recovered as "all minus the other segments".
        page["headline"] = {"group": None, "suppressed": True}
        page["segment_hidden"] = True
        return page
    period = "week" if window.days is not None and window.days <= 90 else "month"
    compare_from = None
    if window.date_from is not None:
        compare_from = s.previous_period_start(window.date_from, window.date_to)
    grid = s.page_grid(metric=metric, period=period, filters=filters, compare_from=compare_from)
    current = {key[1:]: agg for key, agg in grid.items() if key[0] == "current"}
    headline = _sum_aggs(current.values())
    score = s.score_from(metric, headline)
    head_row: dict[str, Any] = {"group": None, "score": score.value, "n": score.n}
    head_row["margin"] = score.margin
    if score.n < threshold:
        head_row = {"group": None, "suppressed": True, "n": score.n}
    page["headline"] = head_row
    page["distribution"] = _distribution(metric, headline, threshold)
    if window.date_from is not None:
        previous = _sum_aggs(agg for key, agg in grid.items() if key[0] == "previous")
        page["comparison"] = s.comparison_of(
            metric, current=headline, previous=previous, threshold=threshold
        )
    trend_rows = s.trend_guard(s.score_rows_of(metric, _sum_by(current, 0)), threshold=threshold)
    page["heatmap"], cells = _heatmap(
        audience, s.score_rows_of(metric, _sum_by(current, 1)), threshold
    )
    ranked = [c for c in cells if not c.get("suppressed") and c.get("score") is not None]
    ranked.sort(key=lambda c: c["score"])
    page["worst"] = ranked[:WORST]
    hidden_touchpoints = [c["group"] for c in cells if c.get("suppressed")]
    published_scores_stabilise(
        shown=[
            Shown(
                key=s.slice_key(
                    audience_id=audience.pk, metric=metric, by=None, group=None, filters=filters
                ),
                audience_id=audience.pk,
                threshold=threshold,
                row=head_row,
            ),
            *(
                Shown(
                    key=s.slice_key(
                        audience_id=audience.pk,
                        metric=metric,
                        by=period,
                        group=r["group"],
                        filters=filters,
                    ),
                    audience_id=audience.pk,
                    threshold=threshold,
                    row=r,
                )
                for r in trend_rows
            ),
            *(
                Shown(
                    key=s.slice_key(
                        audience_id=audience.pk,
                        metric=metric,
                        by="touchpoint",
                        group=c["group"],
                        filters=filters,
                    ),
                    audience_id=audience.pk,
                    threshold=threshold,
                    row=c,
                )
                for c in cells
            ),
        ]
    )
    for c in cells:
        c["bucket"] = bucket(metric, c.get("score"))
    low, high = metric_range(metric)
    values = [r.get("score") for r in trend_rows]
    page["trend"] = {
        "rows": trend_rows,
        "points": polyline(values, low=low, high=high, w=CHART_W, h=CHART_H),
        "low": low,
        "high": high,
        "mid_y": CHART_H / 2,
        "period": period,
    }
    page["verbatims"] = (
        [] if head_row.get("suppressed") else _verbatims(filters, hidden_touchpoints)
    )
    if audience.kind == AudienceKind.CUSTOMER:
        page["rox"] = s.return_on_experience(audience=audience, filters=filters)
        if window.date_from is not None:
            ops = _operations(audience, window.date_from, window.date_to)
            page["operations"] = ops
            page["operation_rows"] = [
                {"label": label, "value": ops[key], "unit": unit, "digits": digits}
                for key, label, unit, digits in OPERATION_ROWS
            ]
    return page


def _operations(audience: Audience, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    """The period's operational metrics: the rollup task's snapshot, else computed now."""
    snapshot = (
        OperationsSnapshot.objects.filter(audience=audience, date_from=date_from, date_to=date_to)
        .values_list("values", flat=True)
        .first()
    )
    if snapshot is not None:
        return dict(snapshot)
    return s.operational_metrics(
        audience=audience, date_from=date_from, date_to=date_to, source="rollup"
    )


def _segment_hidden(audience: Audience, metric: str, filters: s.Filters, segment: str) -> bool:
    """Whether the segment is hidden among its siblings (threshold or complement)."""
    siblings = s.Filters(
        audience_id=filters.audience_id,
        date_from=filters.date_from,
        date_to=filters.date_to,
        survey_id=filters.survey_id,
    )
    rows = s.score_rows(audience=audience, metric=metric, by="segment", filters=siblings)
    guarded = s.suppress_siblings(rows, threshold=audience.anonymity_threshold)
    return not any(r["group"] == segment and not r.get("suppressed") for r in guarded)


def _distribution(metric: str, agg: s.Agg, threshold: int) -> list[dict[str, Any]] | None:
    """Promoters / passives / detractors as shares (NPS only; hidden under the threshold)."""
    if metric not in ("nps", "enps") or agg.n < threshold:
        return None
    parts = [
        ("promoters", _("Promoters"), agg.promoters),
        ("passives", _("Passives"), agg.passives),
        ("detractors", _("Detractors"), agg.detractors),
    ]
    out, x = [], 0.0
    for key, label, count in parts:
        share = count / agg.n * 100
        out.append({"key": key, "label": label, "count": count, "share": share, "x": x})
        x += share
    return out


def _heatmap(
    audience: Audience, rows: list[dict[str, Any]], threshold: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stages × touchpoints of the audience's journeys with each touchpoint's guarded score.

    `rows` are the touchpoints' unguarded score rows.
    """
    touchpoints = list(
        Touchpoint.objects.filter(stage__journey__audience=audience)
        .select_related("stage__journey")
        .order_by("stage__journey__name", "stage__order", "stage_id", "order", "id")
    )
    known = {tp.pk for tp in touchpoints}
    cells = s.suppress_siblings([r for r in rows if r["group"] in known], threshold=threshold)
    by_tp = {c["group"]: c for c in cells}
    stages: list[dict[str, Any]] = []
    for tp in touchpoints:
        if not stages or stages[-1]["stage"].pk != tp.stage_id:
            stages.append({"stage": tp.stage, "cells": []})
        cell = by_tp.get(tp.pk) or {"group": tp.pk, "n": 0, "empty": True}
        cell["touchpoint"] = tp
        stages[-1]["cells"].append(cell)
    return stages, cells


def _verbatims(filters: s.Filters, hidden_touchpoints: list[Any]) -> list[dict[str, Any]]:
    """Latest free-text answers, never from a slice hidden by the anonymity threshold.

    Walks the verbatims filed by the rollup task backwards along their (audience, day, answer)
    index, so the query stops after one page whatever the number of answers.
    """
    qs = (
        Verbatim.objects.exclude(answer__text="")
        .select_related("answer__question", "touchpoint")
        .order_by("-day", "-answer_id")
    )
    if filters.audience_id is not None:
        qs = qs.filter(audience_id=filters.audience_id)
    if filters.date_from is not None:
        qs = qs.filter(day__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(day__lte=filters.date_to)
    if filters.survey_id is not None:
        qs = qs.filter(survey_id=filters.survey_id)
    if filters.segment is not None:
        qs = qs.filter(segment=filters.segment)
    if hidden_touchpoints:
        qs = qs.exclude(touchpoint_id__in=hidden_touchpoints)
    return [
        {
            "text": v.answer.text,
            "day": v.day,
            "touchpoint": v.touchpoint,
            "question": v.answer.question.key,
        }
        for v in qs[:VERBATIMS]
    ]
