"""One audience's page: the chosen metric's headline, comparison, trend with its margin band,
journey heatmap (an emotion colour band with stage aggregates) and touchpoint ranking, plus the
comments, closed loop, Return on Experience and operations — in a bounded number of queries.

Named surveys' figures are exact and fresh, anonymous surveys' guarded (metrics.privacy);
`as_of` says when they were read. Reads never write.
"""

import datetime as dt
from dataclasses import replace
from typing import Any

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from metrics import definitions as d
from metrics import selectors as s
from metrics.closedloop.selectors import closed_loop
from metrics.dashboard import catalog, panels
from metrics.dashboard.charts import PER_PERIOD, Window, trend_chart, trend_label
from metrics.dashboard.verbatims import anonymous_verbatims, named_verbatims
from metrics.models import DailyRollup, OperationsSnapshot
from metrics.selectors import series
from surveys.models import SCORED_TYPES, Question

WORST = 5
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
# Insight pages of the metrics app, linked when their URL exists (each lands on its own).
INSIGHT_PAGES = (
    ("metrics:drivers", _("Key drivers")),
    ("metrics:topics", _("What people say")),
    ("metrics:ex_cx", _("Employee and customer experience")),
)


def insight_links(audience: Audience) -> list[dict[str, Any]]:
    """Links to the insight pages whose URL names exist: with the audience's slug when the
    route takes one, else the page itself; a name not (yet) routed gives no link."""
    links = []
    for name, label in INSIGHT_PAGES:
        for kwargs in ({"slug": audience.slug}, {}):
            try:
                url = reverse(name, kwargs=kwargs)
            except NoReverseMatch:
                continue
            links.append({"name": name.split(":")[1], "label": label, "url": url})
            break
    return links


def audience_page(
    *,
    audience: Audience,
    window: Window,
    segment: str | None,
    survey_id: int | None,
    metric: str | None = None,
    with_text: bool = True,
    now: dt.datetime | None = None,
    touchpoint_id: int | None = None,
) -> dict[str, Any]:
    """Everything on one audience's page for `metric` (None or one the data do not support:
    the default — a survey filter's own metric, else the audience's headline — and
    `metric_reset` set when one was asked for). `with_text=False` skips the comments (a chart's
    CSV has none). `touchpoint_id` (a card of the journey map links here) narrows the survey
    metrics and comments to one of the audience's touchpoints (`touchpoint_reset` when it is
    not one); anonymous answers carry their survey's touchpoint, so this reads whole blocks
    (metrics.privacy, point 3). The query count does not grow with the data."""
    # The journeys' touchpoints (heatmap) also say which events the audience records: a
    # role-tagged touchpoint is where its operational metrics come from.
    touchpoints = list(
        Touchpoint.objects.filter(stage__journey__audience=audience)
        .select_related("stage__journey")
        .order_by("stage__journey__name", "stage__order", "stage_id", "order", "id")
    )
    touchpoint = next((tp for tp in touchpoints if tp.pk == touchpoint_id), None)
    filters = s.Filters(
        audience_id=audience.pk,
        date_from=window.date_from,
        date_to=window.date_to,
        survey_id=survey_id,
        segment=segment,
        touchpoint_id=touchpoint.pk if touchpoint is not None else None,
    )
    # The audience's scored questions (survey, type, scale, order): which metrics it has and
    # each survey's own; the questions table is tiny next to rollups.
    questions = list(
        Question.objects.filter(survey__audience=audience, type__in=list(SCORED_TYPES))
        .values_list("survey_id", "type", "scale_max", "order")
        .order_by()
    )
    compare_from = None
    if window.date_from is not None:
        compare_from = s.previous_period_start(window.date_from, window.date_to)
    # Every survey of the audience for the filter, those the page reads (with the watermark),
    # and the anonymous ones' reporting periods from the comparison's start on.
    everything = s.Filters(audience_id=audience.pk, date_from=compare_from, date_to=window.date_to)
    scope = s.read_scope(filters=everything, now=now)
    response_rate = s.response_rates(audience_ids=[audience.pk], date_from=window.date_from).get(
        audience.pk
    )
    roles: set[str] = set()
    if audience.kind == AudienceKind.CUSTOMER:
        roles = {tp.role for tp in touchpoints if tp.role}
    offered = catalog.available(
        audience,
        question_types={q[1] for q in questions},
        has_invitations=response_rate is not None,
        roles=roles,
    )
    asked = catalog.for_audience(audience, metric) if metric else None
    chosen = asked if asked in offered else None
    if chosen is None:
        chosen = catalog.default_metric(
            audience, offered=offered, questions=questions, survey_id=survey_id
        )
    page: dict[str, Any] = {
        "metric": chosen,
        "metric_reset": asked is not None and asked not in offered,
        "metric_choices": [(m, catalog.info(m).label) for m in offered],
        "label": catalog.info(chosen).label if chosen else "",
        "threshold": audience.anonymity_threshold,
        "as_of": scope.as_of,
        "surveys": list(scope.surveys.values()),
        "segments": _segments(audience, window, scope),
        "response_rate": response_rate,
        "insight_links": insight_links(audience),
        "touchpoint": touchpoint,
        "touchpoint_choices": touchpoints,
        "touchpoint_reset": touchpoint_id is not None and touchpoint is None,
    }
    if survey_id is not None:
        scope = replace(
            scope,
            surveys={k: v for k, v in scope.surveys.items() if k == survey_id},
            periods={k: v for k, v in scope.periods.items() if k[0] == survey_id},
        )
    # Cases of every survey and segment in the period: the closed loop is the team's work.
    page["closed_loop"] = closed_loop(
        audience=audience, date_from=window.date_from, date_to=window.date_to
    )
    if chosen is None:
        return page
    about = catalog.info(chosen)
    page["metric_info"] = about
    period = _trend_period(window, scope)
    if about.kind in (catalog.SCORE, catalog.MEAN):
        found = panels.survey_panels(
            chosen,
            filters=filters,
            scope=scope,
            compare_from=compare_from,
            side_from=window.date_from,
            period=period,
        )
    elif about.kind == catalog.RATE:
        period = period if period != PER_PERIOD else "month"
        found = panels.rate_panels(
            audience=audience,
            survey_id=survey_id,
            compare_from=compare_from,
            date_to=window.date_to,
            side_from=window.date_from,
            period=period,
        )
    else:
        date_from = window.date_from or series.first_event_day(audience) or window.date_to
        period = "week" if (window.date_to - date_from).days < 90 else "month"
        found = panels.operation_panels(
            chosen,
            audience=audience,
            date_from=date_from,
            date_to=window.date_to,
            compare_from=compare_from,
            period=period,
        )
    # Response rates and operational metrics are not sliced by segment (nor operations by
    # survey): they show the whole audience, and the page says so.
    page["segment_ignored"] = segment is not None and about.kind in (
        catalog.RATE,
        catalog.OPERATION,
    )
    page["survey_ignored"] = survey_id is not None and about.kind == catalog.OPERATION
    page["touchpoint_ignored"] = touchpoint is not None and about.kind in (
        catalog.RATE,
        catalog.OPERATION,
    )
    scale = found["scale"]
    page["scale"] = scale
    page["other_scales"] = found["other_scales"]
    page["headline"] = found["headline"]
    if segment is not None and found["headline"].get("suppressed") and about.kind != catalog.RATE:
        # Nothing of this segment may be shown: its anonymous cells are small or would reveal
        # a smaller one by subtraction or overlap.
        page["segment_hidden"] = True
        return page
    if found["headline_agg"] is not None and chosen in ("nps", "enps"):
        page["distribution"] = _distribution(found["headline_agg"])
    if found["comparison"] is not None:
        page["comparison"] = found["comparison"]
    rows = found["trend_rows"]
    ends: dict[dt.date, set[dt.date]] = {}
    for (_survey, day), p in scope.periods.items():
        ends.setdefault(day, set()).add(p.ends_on)
    for row in rows:
        row["label"] = trend_label(row["group"], period, ends.get(row["group"], set()))
    low, high = catalog.value_range(
        chosen, [(r["score"], r.get("margin")) for r in rows if r.get("score") is not None], scale
    )
    page["trend"] = trend_chart(rows, low=low, high=high, period=period)
    if about.per_touchpoint:
        page["heatmap"], cells = _heatmap(touchpoints, chosen, scale, found)
        ranked = [c for c in cells if c.get("score") is not None]
        ranked.sort(key=lambda c: c["score"], reverse=about.lower_is_better)
        page["worst"] = ranked[:WORST]
        page["legend"] = catalog.legend(chosen, scale)
    page["field_slices"] = _field_slices(chosen, about, filters, scope)
    page["verbatims"] = named_verbatims(filters) if with_text and scope.has_named else []
    page["anonymous_verbatims"] = anonymous_verbatims(filters, scope) if with_text else []
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


def _field_slices(
    metric: str, about: Any, filters: s.Filters, scope: s.Scope
) -> list[dict[str, Any]]:
    """One survey's score by each of its hidden fields (surveys.hidden_fields), guarded as
    every read is (metrics.field_slices): only under a survey filter alone, for score and
    mean metrics; one read per field."""
    info = scope.surveys.get(filters.survey_id) if filters.survey_id is not None else None
    if (
        info is None
        or not info.hidden_fields
        or about.kind not in (catalog.SCORE, catalog.MEAN)
        or filters.segment is not None
        or filters.touchpoint_id is not None
    ):
        return []
    return [
        {
            "name": name,
            "rows": s.rows_of(
                metric, s.figures(metric=metric, by=f"field:{name}", filters=filters, scope=scope)
            ),
        }
        for name in info.hidden_fields
    ]


def _trend_period(window: Window, scope: s.Scope) -> str:
    """How the trend groups: per reporting period ("day": an anonymous response sits on its
    period's first day) when every survey read is anonymous, else per week up to 90 days and
    per month beyond (an anonymous period then counts in the week or month it starts in)."""
    if scope.surveys and not scope.has_named:
        return PER_PERIOD
    return "week" if window.days is not None and window.days <= 90 else "month"


def _segments(audience: Audience, window: Window, scope: s.Scope) -> list[str]:
    """The segments with answers in the window, for the filter: of named surveys' rollups, and
    of anonymous surveys' published periods only."""
    rows = DailyRollup.objects.filter(audience_id=audience.pk).exclude(segment="")
    if window.date_from is not None:
        rows = rows.filter(day__gte=window.date_from)
    published = sorted({day for (_, day), p in scope.periods.items() if p.published})
    rows = rows.filter(Q(anonymous=False) | Q(anonymous=True, day__in=published))
    return list(rows.values_list("segment", flat=True).distinct().order_by("segment"))


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


def _distribution(agg: s.Agg) -> list[dict[str, Any]] | None:
    """Promoters / passives / detractors as shares (NPS only) of the headline's answers: the
    same shown answers as the headline, so no smaller group."""
    if not agg.n:
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


def _cell(row: dict[str, Any], metric: str, scale: int | None) -> dict[str, Any]:
    row["bucket"] = catalog.bucket(metric, row.get("score"), scale)
    return row


def _heatmap(
    touchpoints: list[Touchpoint], metric: str, scale: int | None, found: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stages × touchpoints of the audience's journeys, each touchpoint with its row and colour
    band, and each stage with its aggregate: its touchpoints' shown answers together (a sum of
    shown cells, so no smaller group). An anonymous survey's answers count at its own
    touchpoint, whole blocks only."""
    score_of = found["score_of"]
    aggs, hidden = found["touchpoints"], found["touchpoints_hidden"]
    stages: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    for tp in touchpoints:
        if not stages or stages[-1]["stage"].pk != tp.stage_id:
            stages.append({"stage": tp.stage, "cells": [], "aggs": [], "withheld": False})
        stage = stages[-1]
        if tp.pk in aggs:
            row = {**panels.row_of(score_of(aggs[tp.pk])), "group": tp.pk}
            if row.get("score") is not None:
                stage["aggs"].append(aggs[tp.pk])
            cells.append(row)
        elif tp.pk in hidden:
            row = {"group": tp.pk, "suppressed": True}
            stage["withheld"] = True
        else:
            row = {"group": tp.pk, "n": 0, "empty": True}
        row["touchpoint"] = tp
        stage["cells"].append(_cell(row, metric, scale))
    for stage in stages:
        total = s.agg_sum(stage.pop("aggs"))
        withheld = stage.pop("withheld")
        score = score_of(total) if total.n else d.EMPTY
        stage["total"] = _cell(panels.row_of(score, withheld=withheld), metric, scale)
    return stages, cells
