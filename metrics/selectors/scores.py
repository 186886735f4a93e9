"""Scores for the API, the dashboard and exports: figures of one metric, score rows,
comparisons of two periods and trends."""

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from metrics import definitions as d
from metrics.selectors.reads import Figures, Scope, read, read_scope
from metrics.selectors.slices import (
    MEAN_METRICS,
    METRIC_FIELDS,
    PERIODS,
    SIDE,
    Agg,
    Filters,
    UnknownSlice,
    _check_keys,
    _group_of,
    _keys_of,
    _question_type,
    aggregate,
    score_from,
)

# --- Scores for the API, the dashboard and exports ---------------------------------------------


def figures(
    *,
    metric: str,
    by: str | None,
    filters: Filters,
    scope: Scope | None = None,
    now: dt.datetime | None = None,
) -> Figures:
    """The figures of one metric grouped by `by`, keyed as `aggregate` keys its groups."""
    question_type = _question_type(metric)
    if by is not None:
        _check_keys((by,))
    scope = scope or read_scope(filters=filters, now=now)
    found = read(
        question_types=[question_type],
        keys=_keys_of(metric, by),
        fields=METRIC_FIELDS[metric],
        filters=filters,
        scope=scope,
    )
    return replace(
        found,
        shown={_group_of(metric, by, k): agg for k, agg in found.shown.items()},
        hidden=frozenset(_group_of(metric, by, k) for k in found.hidden),
    )


@dataclass(frozen=True)
class Report:
    """Score rows with when they were read and the window they cover."""

    rows: list[dict[str, Any]]
    as_of: dt.datetime
    date_from: dt.date | None
    date_to: dt.date | None


def scores(
    *,
    audience: Audience,
    metric: str,
    by: str | None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    survey_id: int | None = None,
    segment: str | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """Scores for the admin, API and exports: exact for named surveys, guarded for anonymous
    ones (metrics.privacy).

    Each row is {"group","score","n","margin"[,"scale"]}, or {"group","suppressed": True
    [,"scale"]} for a group whose anonymous answers are withheld and that shows nothing else.
    Reads only: three to six queries (scope, periods, rollups and answers of each kind).
    """
    filters = Filters(
        audience_id=audience.pk,
        date_from=date_from,
        date_to=date_to,
        survey_id=survey_id,
        segment=segment,
    )
    found = figures(metric=metric, by=by, filters=filters, now=now)
    return Report(
        rows=rows_of(metric, found),
        as_of=found.as_of,
        date_from=found.date_from,
        date_to=found.date_to,
    )


def rows_of(metric: str, found: Figures) -> list[dict[str, Any]]:
    """Score rows of figures: shown groups with their score, withheld ones suppressed."""
    rows = score_rows_of(metric, found.shown)
    for group in found.hidden - set(found.shown):
        row: dict[str, Any] = {"group": group, "suppressed": True}
        if metric in MEAN_METRICS:
            row = {"group": group[0], "suppressed": True, "scale": group[1]}
        rows.append(row)
    rows.sort(key=_row_order)
    return rows


def _row_order(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["group"] is None, str(row["group"]), row.get("scale") or 0)


def score_rows(
    *, audience: Audience, metric: str, by: str | None, filters: Filters, source: str = "rollup"
) -> list[dict[str, Any]]:
    """Unguarded rows {"group","score","n","margin"[,"scale"]} sorted by group (internal)."""
    return score_rows_of(metric, aggregate(metric=metric, by=by, filters=filters, source=source))


def score_rows_of(metric: str, aggs: dict[Any, Agg]) -> list[dict[str, Any]]:
    """score_rows from aggregates already read ({group: Agg}, as `aggregate` returns them)."""
    result = []
    for group, agg in aggs.items():
        scale = None
        if metric in MEAN_METRICS:
            group, scale = group
        s = score_from(metric, agg)
        row: dict[str, Any] = {"group": group, "score": s.value, "n": s.n, "margin": s.margin}
        if metric in MEAN_METRICS:
            row["scale"] = scale
        result.append(row)
    result.sort(key=_row_order)
    return result


# --- Comparisons and trends -----------------------------------------------------------


def compare_periods(
    *,
    audience: Audience,
    metric: str,
    date_from: dt.date,
    date_to: dt.date,
    filters: Filters,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """This period vs the one of equal length before it, in one read; flags real changes."""
    if metric in MEAN_METRICS:
        raise UnknownSlice(_("Mean metrics are not compared across scales here."))
    scoped = replace(
        filters,
        audience_id=audience.pk,
        date_from=previous_period_start(date_from, date_to),
        date_to=date_to,
    )
    found = read(
        question_types=[_question_type(metric)],
        keys=(SIDE,),
        fields=METRIC_FIELDS[metric],
        filters=scoped,
        scope=read_scope(filters=scoped, now=now),
        side_from=date_from,
    )
    return comparison_of(
        metric,
        current=found.shown.get(("current",), Agg()),
        previous=found.shown.get(("previous",), Agg()),
        withheld={side for (side,) in found.hidden},
    )


def previous_period_start(date_from: dt.date, date_to: dt.date) -> dt.date:
    """The first day of the period of equal length just before [date_from, date_to]."""
    return date_from - dt.timedelta(days=(date_to - date_from).days + 1)


def comparison_of(
    metric: str, *, current: Agg, previous: Agg, withheld: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """compare_periods from the two periods' aggregates already read (`withheld`: the sides
    whose anonymous answers were withheld)."""
    now, before = (
        _shown_score(metric, agg, side in withheld)
        for agg, side in ((current, "current"), (previous, "previous"))
    )
    delta = None
    if now.value is not None and before.value is not None:
        delta = now.value - before.value
    return {
        "current": now,
        "previous": before,
        "delta": delta,
        "significant": d.change_is_significant(now, before),
    }


def _shown_score(metric: str, agg: Agg, withheld: bool) -> d.Score:
    if not agg.n:
        return d.Score(value=None, n=0, suppressed=withheld)
    return score_from(metric, agg)


def trend(
    *,
    audience: Audience,
    metric: str,
    period: str,
    filters: Filters,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Score per period, oldest first (anonymous surveys: per period start, guarded)."""
    if period not in PERIODS:
        raise UnknownSlice(_("Unknown period %(p)s.") % {"p": period})
    found = figures(
        metric=metric, by=period, filters=replace(filters, audience_id=audience.pk), now=now
    )
    return rows_of(metric, found)


def headline_metric(audience: Audience, available: set[str]) -> str | None:
    """NPS for customers and fans, eNPS for employees, otherwise NPS or CSAT as available."""
    if audience.kind == AudienceKind.EMPLOYEE:
        return "enps" if "nps" in available else ("csat" if "csat" in available else None)
    if "nps" in available:
        return "nps"
    if "csat" in available:
        return "csat"
    return None
