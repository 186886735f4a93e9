"""Reads that assemble the admin dashboard pages, in a bounded number of queries.

Every figure comes from `metrics.selectors.read`: exact and fresh for named surveys, guarded
for anonymous ones (`metrics.privacy`). Reads never write.
"""

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Count, Q
from django.utils import dateformat
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from metrics import definitions as d
from metrics import privacy
from metrics import selectors as s
from metrics.closedloop.selectors import closed_loop
from metrics.models import DailyRollup, OperationsSnapshot, Verbatim
from surveys.models import SCORED_TYPES, Answer, Question, QuestionType

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


def chart_points(
    values: list[float | None], *, low: float, high: float, w: int, h: int
) -> list[tuple[int, float, float]]:
    """(index, x, y) of each value on [low, high] in a w × h chart; gaps (None) are skipped."""
    step = w / max(len(values) - 1, 1)
    span = (high - low) or 1.0
    return [
        (i, round(i * step, 1), round(h - (v - low) / span * h, 1))
        for i, v in enumerate(values)
        if v is not None
    ]


def polyline(values: list[float | None], *, low: float, high: float, w: int, h: int) -> str:
    """SVG polyline points for values on [low, high]; gaps (None) are skipped."""
    points = chart_points(values, low=low, high=high, w=w, h=h)
    return " ".join(f"{x:.1f},{y:.1f}" for _i, x, y in points)


def _month_start(day: dt.date, months_back: int) -> dt.date:
    month = day.month - months_back
    year = day.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1)


def index_cards(
    *, today: dt.date, audience_ids: list[int] | None = None, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """One card per audience: headline score, n, margin, monthly sparkline, response rate.

    `audience_ids` limits the cards to those audiences (None: all of them). Scores are exact
    for named surveys and guarded for anonymous ones (metrics.privacy), as of `now`.

    Queries: audiences, the surveys (with the rollups' watermark), their reporting periods
    when some are anonymous, the rollups and the fresh answers (audience × type × month) of
    each kind, response rates — whatever the number of audiences or answers.
    """
    audiences = list(Audience.objects.all())
    if audience_ids is not None:
        audiences = [a for a in audiences if a.pk in set(audience_ids)]
    since = _month_start(today, SPARK_MONTHS - 1)
    # The audiences named, even when they are all: today's answers are then found through
    # the responses' (audience, day) index instead of a scan of every response.
    filters = s.Filters(date_from=since, date_to=today, audience_ids=tuple(a.pk for a in audiences))
    scope = s.read_scope(filters=filters, now=now)
    found = s.read(
        question_types=[QuestionType.NPS, QuestionType.CSAT],
        keys=("audience", s.QUESTION_TYPE, "month"),
        fields=s.ALL_FIELDS,
        filters=filters,
        scope=scope,
    )
    by_audience: dict[int, dict[str, dict[dt.date, s.Agg]]] = {}
    for (audience_id, question_type, month), agg in found.shown.items():
        by_audience.setdefault(audience_id, {}).setdefault(question_type, {})[month] = agg
    withheld: dict[int, set[str]] = {}
    for audience_id, question_type, _month in found.hidden:
        withheld.setdefault(audience_id, set()).add(question_type)
    months = [_month_start(today, k) for k in range(SPARK_MONTHS - 1, -1, -1)]
    rates = s.response_rates(audience_ids=[a.pk for a in audiences], date_from=since)
    cards: list[dict[str, Any]] = []
    for audience in audiences:
        found_types = by_audience.get(audience.pk, {})
        hidden_types = withheld.get(audience.pk, set())
        metric = s.headline_metric(audience, set(found_types) | hidden_types)
        card: dict[str, Any] = {
            "audience": audience,
            "metric": metric,
            "label": s.METRIC_LABELS.get(metric or "", ""),
            "response_rate": rates.get(audience.pk),
            "threshold": audience.anonymity_threshold,
            "as_of": found.as_of,
        }
        if metric is not None:
            question_type = s.METRIC_QUESTION_TYPE[metric]
            monthly = found_types.get(question_type, {})
            total = s.agg_sum(monthly.values())
            card["row"] = _score_row(metric, total, withheld=question_type in hidden_types)
            spark = [
                s.score_from(metric, monthly[month]).value if month in monthly else None
                for month in months
            ]
            low, high = metric_range(metric)
            card["spark"] = polyline(spark, low=low, high=high, w=SPARK_W, h=SPARK_H)
        cards.append(card)
    return cards


def _score_row(metric: str, agg: s.Agg, *, withheld: bool) -> dict[str, Any]:
    """A shown score row; a group with nothing shown whose anonymous answers were withheld says
    so ("not enough responses"), an empty one has no score."""
    if not agg.n:
        return {"group": None, "suppressed": withheld, "empty": not withheld, "n": 0}
    score = s.score_from(metric, agg)
    return {"group": None, "score": score.value, "n": score.n, "margin": score.margin}


def _sum_by(cells: dict[tuple[Any, ...], s.Agg], position: int) -> dict[Any, s.Agg]:
    """Sum grid cells over every key part but the one at `position`."""
    groups: dict[Any, s.Agg] = {}
    for key, agg in cells.items():
        groups[key[position]] = groups.get(key[position], s.Agg()) + agg
    return groups


def audience_page(
    *,
    audience: Audience,
    window: Window,
    segment: str | None,
    survey_id: int | None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Everything on one audience's page; the query count does not grow with the data.

    Named surveys' figures are exact and fresh, anonymous surveys' guarded (metrics.privacy);
    `as_of` says when they were read.
    """
    filters = s.Filters(
        audience_id=audience.pk,
        date_from=window.date_from,
        date_to=window.date_to,
        survey_id=survey_id,
        segment=segment,
    )
    # What the audience asks decides its headline; the questions table is tiny next to rollups.
    types = set(
        Question.objects.filter(survey__audience=audience, type__in=list(SCORED_TYPES))
        .values_list("type", flat=True)
        .distinct()
        .order_by()
    )
    metric = s.headline_metric(audience, types)
    compare_from = None
    if window.date_from is not None:
        compare_from = s.previous_period_start(window.date_from, window.date_to)
    # Every survey of the audience for the filter, those the page reads (with the watermark),
    # and the anonymous ones' reporting periods from the comparison's start on.
    everything = s.Filters(audience_id=audience.pk, date_from=compare_from, date_to=window.date_to)
    scope = s.read_scope(filters=everything, now=now)
    page: dict[str, Any] = {
        "metric": metric,
        "label": s.METRIC_LABELS.get(metric or "", ""),
        "threshold": audience.anonymity_threshold,
        "as_of": scope.as_of,
        "surveys": list(scope.surveys.values()),
        "segments": _segments(audience, window, scope),
        "response_rate": s.response_rates(
            audience_ids=[audience.pk], date_from=window.date_from
        ).get(audience.pk),
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
    if metric is None:
        return page
    period = _trend_period(window, scope)
    grid = s.read(
        question_types=[s.METRIC_QUESTION_TYPE[metric]],
        keys=(s.SIDE, period, "touchpoint"),
        fields=s.METRIC_FIELDS[metric],
        filters=replace(filters, date_from=compare_from),
        scope=scope,
        side_from=window.date_from,
    )
    current = {key[1:]: agg for key, agg in grid.shown.items() if key[0] == "current"}
    withheld = {key[1:] for key in grid.hidden if key[0] == "current"}
    headline = s.agg_sum(current.values())
    head_row = _score_row(metric, headline, withheld=bool(withheld))
    page["headline"] = head_row
    if segment is not None and head_row.get("suppressed"):
        # Nothing of this segment may be shown: its anonymous cells are small or would reveal
        # a smaller one by subtraction or overlap.
        page["segment_hidden"] = True
        return page
    page["distribution"] = _distribution(metric, headline)
    if window.date_from is not None:
        previous = s.agg_sum(agg for key, agg in grid.shown.items() if key[0] == "previous")
        sides_withheld = {key[0] for key in grid.hidden}
        comparison = s.comparison_of(
            metric, current=headline, previous=previous, withheld=sides_withheld
        )
        # A change is told only between two sides shown whole, each with a real margin: a
        # side missing withheld anonymous answers is not the same population.
        comparison["testable"] = not sides_withheld and all(
            d.has_real_margin(comparison[side]) for side in ("current", "previous")
        )
        comparison["significant"] = comparison["significant"] and comparison["testable"]
        page["comparison"] = comparison
    trend_rows = s.rows_of(
        metric,
        s.Figures(shown=_sum_by(current, 0), hidden=frozenset(k[0] for k in withheld)),
    )
    page["heatmap"], cells = _heatmap(
        audience,
        s.rows_of(
            metric,
            s.Figures(shown=_sum_by(current, 1), hidden=frozenset(k[1] for k in withheld)),
        ),
    )
    ranked = [c for c in cells if not c.get("suppressed") and c.get("score") is not None]
    ranked.sort(key=lambda c: c["score"])
    page["worst"] = ranked[:WORST]
    for c in cells:
        c["bucket"] = bucket(metric, c.get("score"))
    for row in trend_rows:
        row["label"] = _trend_label(row["group"], period, scope)
    low, high = metric_range(metric)
    values = [r.get("score") for r in trend_rows]
    page["trend"] = {
        "rows": trend_rows,
        "points": polyline(values, low=low, high=high, w=CHART_W, h=CHART_H),
        # A dot per shown point: a lone period (or one between gaps) draws no line.
        "dots": [
            {"x": x, "y": y, "row": trend_rows[i]}
            for i, x, y in chart_points(values, low=low, high=high, w=CHART_W, h=CHART_H)
        ],
        "low": low,
        "high": high,
        "mid_y": CHART_H / 2,
        "period": period,
    }
    page["verbatims"] = _verbatims(filters, scope) if scope.has_named else []
    page["anonymous_verbatims"] = _anonymous_verbatims(filters, scope)
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


def _trend_period(window: Window, scope: s.Scope) -> str:
    """How the trend groups: per reporting period ("day": an anonymous response sits on its
    period's first day) when every survey read is anonymous, else per week up to 90 days and
    per month beyond (an anonymous period then counts in the week or month it starts in)."""
    if scope.surveys and not scope.has_named:
        return PER_PERIOD
    return "week" if window.days is not None and window.days <= 90 else "month"


PER_PERIOD = "day"


def _trend_label(start: dt.date, period: str, scope: s.Scope) -> str:
    """A trend point's name: its week's Monday, its month, or its reporting period."""
    if period == "month":
        return dateformat.format(start, "M Y")
    if period != PER_PERIOD:
        return dateformat.format(start, "j M Y")
    ends = {p.ends_on for (_survey, day), p in scope.periods.items() if day == start}
    if len(ends) != 1:
        return dateformat.format(start, "j M Y")
    return period_label(start, ends.pop())


def period_label(starts_on: dt.date, ends_on: dt.date) -> str:
    """A reporting period as people name it: "Oct 2026" for a calendar month, "Q4 2026" for a
    calendar quarter, else its first and last day ("28 Sep – 4 Oct 2026")."""
    if starts_on.day == 1 and ends_on == _month_start(starts_on, -1) - dt.timedelta(days=1):
        return dateformat.format(starts_on, "M Y")
    if (
        starts_on.day == 1
        and starts_on.month % 3 == 1
        and ends_on == _month_start(starts_on, -3) - dt.timedelta(days=1)
    ):
        return gettext("Q%(quarter)d %(year)d") % {
            "quarter": (starts_on.month - 1) // 3 + 1,
            "year": starts_on.year,
        }
    first = "j M" if starts_on.year == ends_on.year else "j M Y"
    return f"{dateformat.format(starts_on, first)} – {dateformat.format(ends_on, 'j M Y')}"


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


def _distribution(metric: str, agg: s.Agg) -> list[dict[str, Any]] | None:
    """Promoters / passives / detractors as shares (NPS only) of the headline's answers: the
    same shown answers as the headline, so no smaller group."""
    if metric not in ("nps", "enps") or not agg.n:
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
    audience: Audience, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stages × touchpoints of the audience's journeys with each touchpoint's score row.

    `rows` are the touchpoints' rows as `selectors.rows_of` gives them (an anonymous survey's
    answers count at its own touchpoint, whole blocks only).
    """
    touchpoints = list(
        Touchpoint.objects.filter(stage__journey__audience=audience)
        .select_related("stage__journey")
        .order_by("stage__journey__name", "stage__order", "stage_id", "order", "id")
    )
    known = {tp.pk for tp in touchpoints}
    cells = [dict(r) for r in rows if r["group"] in known]
    by_tp = {c["group"]: c for c in cells}
    stages: list[dict[str, Any]] = []
    for tp in touchpoints:
        if not stages or stages[-1]["stage"].pk != tp.stage_id:
            stages.append({"stage": tp.stage, "cells": []})
        cell = by_tp.get(tp.pk) or {"group": tp.pk, "n": 0, "empty": True}
        cell["touchpoint"] = tp
        stages[-1]["cells"].append(cell)
    return stages, cells


def _verbatims(filters: s.Filters, scope: s.Scope) -> list[dict[str, Any]]:
    """Latest free-text answers of named surveys (their responses are seen one by one anyway).

    Walks the verbatims filed by the rollup task backwards along their (audience, day, answer)
    index, so the query stops after one page whatever the number of answers.
    """
    qs = (
        Verbatim.objects.filter(anonymous=False)
        .exclude(answer__text="")
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
    return [
        {
            "text": v.answer.text,
            "day": v.day,
            "touchpoint": v.touchpoint,
            "question": v.answer.question.key,
        }
        for v in qs[:VERBATIMS]
    ]


def _anonymous_verbatims(filters: s.Filters, scope: s.Scope) -> list[dict[str, Any]]:
    """Comments of anonymous surveys, per group of one survey × one published period × one
    question (× the segment filter's segment) where at least k people commented
    (metrics.privacy, point 5): a question with fewer than k answers shows nothing, as on the
    survey's summary page.

    Newest period first, each group in a keyed shuffle, with the period and question only (no
    day, segment, channel or touchpoint). Three queries at most: the groups' sizes, the ids of
    the groups shown (up to a page), and the page's texts.
    """
    published = {
        key: p
        for key, p in scope.periods.items()
        if p.published
        and scope.surveys[key[0]].anonymous
        and (filters.date_from is None or p.starts_on >= filters.date_from)
        and (filters.date_to is None or p.starts_on <= filters.date_to)
    }
    if not published:
        return []
    comments = Verbatim.objects.filter(
        anonymous=True,
        survey_id__in=sorted({survey_id for survey_id, _ in published}),
        day__in=sorted({day for _, day in published}),
    ).exclude(answer__text="")
    # People, not comment rows: distinct responses per group and segment.
    counts = {
        (r["survey_id"], r["day"], r["answer__question_id"], r["segment"]): r["n"]
        for r in comments.values("survey_id", "day", "answer__question_id", "segment")
        .annotate(n=Count("answer__response_id", distinct=True))
        .order_by()
        if (r["survey_id"], r["day"]) in published
    }
    shown = privacy.comment_groups(
        counts,
        k_of={pk: info.k for pk, info in scope.surveys.items()},
        segment=filters.segment,
    )
    if not shown:
        return []
    # Newest period first; take the groups that fill a page.
    order = sorted(shown, key=lambda g: (g[1], g[0], g[2]), reverse=True)
    sizes: dict[tuple[int, dt.date, int], int] = {}
    for (survey_id, day, question_id, segment), n in counts.items():
        if filters.segment is None or segment == filters.segment:
            group = (survey_id, day, question_id)
            sizes[group] = sizes.get(group, 0) + n
    groups, room = [], VERBATIMS
    for group in order:
        if room <= 0:
            break
        groups.append(group)
        room -= sizes[group]
    picked = Q(pk__in=[])
    for survey_id, day, question_id in groups:
        picked |= Q(survey_id=survey_id, day=day, answer__question_id=question_id)
    if filters.segment is not None:
        picked &= Q(segment=filters.segment)
    ids: dict[tuple[int, dt.date, int], list[int]] = {}
    for survey_id, day, question_id, answer_id in comments.filter(picked).values_list(
        "survey_id", "day", "answer__question_id", "answer_id"
    ):
        ids.setdefault((survey_id, day, question_id), []).append(answer_id)
    page = [(group, a) for group in groups for a in privacy.shuffled(ids.get(group, []))]
    page = page[:VERBATIMS]
    texts = {
        a.pk: a
        for a in Answer.objects.filter(pk__in=[a for _, a in page]).select_related("question")
    }
    return [
        {
            "text": texts[a].text,
            "question": texts[a].question.key,
            "survey": scope.surveys[group[0]].name,
            "period": published[group[:2]],
            "period_label": period_label(
                published[group[:2]].starts_on, published[group[:2]].ends_on
            ),
        }
        for group, a in page
        if a in texts
    ]
