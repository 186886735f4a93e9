"""The chosen metric's figures on an audience page: headline, comparison with the previous
period, trend rows and per-touchpoint aggregates, whatever the metric's kind.

Survey metrics come from the one read (`metrics.selectors.read`: exact named figures, guarded
anonymous ones), response rates from invitations (groups under k invitations hidden), and
operational metrics from the event days; each kind in two or three queries.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from audiences.models import Audience
from metrics import definitions as d
from metrics import selectors as s
from metrics.dashboard import catalog
from metrics.selectors import series

Scorer = Callable[[s.Agg], d.Score]


def row_of(score: d.Score, *, withheld: bool = False) -> dict[str, Any]:
    """A shown score row; a group with nothing shown whose anonymous answers were withheld
    says so ("not enough responses"), an empty one has no score."""
    if score.suppressed:
        return {"group": None, "suppressed": True, "n": 0}
    if not score.n or score.value is None:
        return {"group": None, "suppressed": withheld, "empty": not withheld, "n": 0}
    return {"group": None, "score": score.value, "n": score.n, "margin": score.margin}


def compare_scores(now: d.Score, before: d.Score, withheld: set[str]) -> dict[str, Any]:
    """This period against the previous one: a change is told only between two sides shown
    whole, each with a real margin, and beyond their combined margin (`change_is_significant`)."""
    delta = None
    if now.value is not None and before.value is not None:
        delta = now.value - before.value
    testable = not withheld and d.has_real_margin(now) and d.has_real_margin(before)
    return {
        "current": now,
        "previous": before,
        "delta": delta,
        "testable": testable,
        "significant": testable and d.change_is_significant(now, before),
    }


def _shown(score_of: Scorer, agg: s.Agg, withheld: bool) -> d.Score:
    if not agg.n:
        return d.Score(value=None, n=0, suppressed=withheld)
    return score_of(agg)


def _sum_by(cells: dict[tuple[Any, ...], s.Agg], position: int) -> dict[Any, s.Agg]:
    groups: dict[Any, s.Agg] = {}
    for key, agg in cells.items():
        groups[key[position]] = groups.get(key[position], s.Agg()) + agg
    return groups


def assemble(
    score_of: Scorer,
    shown: dict[tuple[Any, ...], s.Agg],
    hidden: set[tuple[Any, ...]] | frozenset[tuple[Any, ...]],
    *,
    compare: bool,
) -> dict[str, Any]:
    """Panels from (side, period, touchpoint) cells: every figure is a sum of shown cells."""
    current = {key[1:]: agg for key, agg in shown.items() if key[0] == "current"}
    withheld = {key[1:] for key in hidden if key[0] == "current"}
    head = s.agg_sum(current.values())
    panels: dict[str, Any] = {
        "score_of": score_of,
        "headline_agg": head,
        "headline": row_of(score_of(head) if head.n else d.EMPTY, withheld=bool(withheld)),
        "comparison": None,
    }
    if compare:
        previous = s.agg_sum(agg for key, agg in shown.items() if key[0] == "previous")
        sides = {key[0] for key in hidden}
        panels["comparison"] = compare_scores(
            _shown(score_of, head, "current" in sides),
            _shown(score_of, previous, "previous" in sides),
            sides,
        )
    periods = _sum_by(current, 0)
    hidden_periods = {key[0] for key in withheld}
    panels["trend_rows"] = [
        {**row_of(score_of(periods[p])), "group": p}
        if p in periods
        else {"group": p, "suppressed": True}
        for p in sorted(set(periods) | hidden_periods)
    ]
    panels["touchpoints"] = _sum_by(current, 1)
    panels["touchpoints_hidden"] = {key[1] for key in withheld}
    return panels


def survey_panels(
    metric: str,
    *,
    filters: s.Filters,
    scope: s.Scope,
    compare_from: dt.date | None,
    side_from: dt.date | None,
    period: str,
) -> dict[str, Any]:
    """NPS, CSAT and the means from the one read; a mean metric on its most common scale
    (scales are never pooled), the others' answer counts told beside it."""
    mean = catalog.info(metric).kind == catalog.MEAN
    keys: tuple[str, ...] = (s.SIDE, period, "touchpoint")
    if mean:
        keys = (*keys, s.SCALE)
    grid = s.read(
        question_types=[s.METRIC_QUESTION_TYPE[metric]],
        keys=keys,
        fields=s.METRIC_FIELDS[metric],
        filters=replace(filters, date_from=compare_from),
        scope=scope,
        side_from=side_from,
    )
    shown, hidden = grid.shown, set(grid.hidden)
    scale, scales = None, {}
    if mean:
        for key, agg in shown.items():
            if key[0] == "current":
                scales[key[3]] = scales.get(key[3], 0) + agg.n
        scale = catalog.most_common_scale(scales) or catalog.most_common_scale(
            {key[3]: 1 for key in [*shown, *hidden]}
        )
        shown = {key[:3]: agg for key, agg in shown.items() if key[3] == scale}
        hidden = {key[:3] for key in hidden if key[3] == scale}

    def score_of(agg: s.Agg) -> d.Score:
        return s.score_from(metric, agg)

    panels = assemble(score_of, shown, hidden, compare=side_from is not None)
    panels["scale"] = scale
    panels["other_scales"] = [
        {"scale": other, "n": n} for other, n in sorted(scales.items()) if other != scale
    ]
    return panels


def rate_panels(
    *,
    audience: Audience,
    survey_id: int | None,
    compare_from: dt.date | None,
    date_to: dt.date,
    side_from: dt.date | None,
    period: str,
) -> dict[str, Any]:
    """Response rates: invitations sent and answered per (side, period, touchpoint); a group
    shown with fewer than k invitations shows nothing (`series.rate_score`)."""
    grid = series.invitation_groups(
        audience=audience,
        keys=(s.SIDE, period, "touchpoint"),
        date_from=compare_from,
        date_to=date_to,
        survey_id=survey_id,
        side_from=side_from,
    )
    k = audience.anonymity_threshold

    def score_of(agg: s.Agg) -> d.Score:
        return series.rate_score(agg, k=k)

    panels = assemble(score_of, grid, set(), compare=side_from is not None)
    panels.update(scale=None, other_scales=[])
    return panels


def operation_panels(
    metric: str,
    *,
    audience: Audience,
    date_from: dt.date,
    date_to: dt.date,
    compare_from: dt.date | None,
    period: str,
) -> dict[str, Any]:
    """An operational metric: per period, over the window, and over the period before it (two
    queries: the event sums per side and period, the members at each start; CLV, whose buyers
    are counted once per window, reads the sides' sums in a third)."""
    both = series.operation_groups(
        audience=audience,
        date_from=compare_from or date_from,
        date_to=date_to,
        key=(s.SIDE, period),
        side_from=date_from,
        metric=metric,
    )
    groups = {p: row for (side, p), row in both.items() if side == "current"}
    sides = {
        side: series.sum_groups([row for (of, _p), row in both.items() if of == side])
        for side in ("current", "previous")
    }
    if metric == "clv":
        sides = series.operation_groups(
            audience=audience,
            date_from=compare_from or date_from,
            date_to=date_to,
            key=s.SIDE,
            side_from=date_from,
            metric=metric,
        )
    starts = {g: max(g, date_from) for g in groups}
    days = [*starts.values(), date_from] + ([compare_from] if compare_from else [])
    members = series.members_at(audience=audience, days=days, metric=metric)
    now = series.operation_score(metric, sides.get("current"), members[date_from])
    rows = [
        {**row_of(series.operation_score(metric, groups[g], members[starts[g]])), "group": g}
        for g in sorted(groups)
    ]
    comparison = None
    if compare_from is not None:
        before = series.operation_score(metric, sides.get("previous"), members[compare_from])
        comparison = compare_scores(now, before, set())
    return {
        "headline": row_of(now),
        "headline_agg": None,
        "comparison": comparison,
        "trend_rows": rows,
        "touchpoints": {},
        "touchpoints_hidden": set(),
        "scale": None,
        "other_scales": [],
    }
