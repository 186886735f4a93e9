"""Slices of scores: metric names, dimensions, filters and the additive aggregates (`Agg`)
of one aggregate query over the answers or the daily rollups (unguarded: what users see is
`metrics.selectors.reads.read`)."""

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, Trunc
from django.utils.translation import gettext_lazy as _

from audiences.models import Membership
from metrics import definitions as d
from metrics.models import DailyRollup
from surveys.models import Answer, QuestionType

METRIC_QUESTION_TYPE: dict[str, str] = {
    "nps": QuestionType.NPS,
    "enps": QuestionType.NPS,
    "csat": QuestionType.CSAT,
    "csat_mean": QuestionType.CSAT,
    "ces": QuestionType.CES,
    "rating": QuestionType.RATING,
}
METRIC_LABELS: dict[str, Any] = {
    "nps": _("NPS"),
    "enps": _("eNPS"),
    "csat": _("CSAT"),
    "csat_mean": _("CSAT (mean)"),
    "ces": _("CES"),
    "rating": _("Rating"),
}
# Mean metrics are only comparable on one scale: their groups always carry the scale.
MEAN_METRICS = frozenset({"csat_mean", "ces", "rating"})

# by -> (path from Answer, path from DailyRollup)
DIMENSIONS: dict[str, tuple[str, str]] = {
    "audience": ("response__audience_id", "audience_id"),
    "journey": ("response__touchpoint__stage__journey_id", "touchpoint__stage__journey_id"),
    "stage": ("response__touchpoint__stage_id", "touchpoint__stage_id"),
    "touchpoint": ("response__touchpoint_id", "touchpoint_id"),
    "survey": ("response__survey_id", "survey_id"),
    "question": ("question_id", "question_id"),
    "segment": ("response__segment", "segment"),
    "channel": ("response__channel", "channel"),
    "language": ("response__language", "language"),
}
PERIODS = ("day", "week", "month", "quarter")
ATTRIBUTE_PREFIX = "attribute:"
# `field:<name>`: a survey's hidden field (surveys.hidden_fields; metrics.field_slices).
FIELD_PREFIX = "field:"
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
# Keys a read can group by besides DIMENSIONS, PERIODS and attributes.
SIDE, QUESTION_TYPE, SCALE = "side", "question_type", "scale"


class UnknownSlice(ValueError):
    """A metric or dimension name this module does not know."""


@dataclass(frozen=True)
class Agg:
    """Additive aggregates of one slice."""

    n: int = 0
    total: int = 0
    sumsq: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    top2: int = 0

    def __add__(self, other: "Agg") -> "Agg":
        return Agg(
            n=self.n + other.n,
            total=self.total + other.total,
            sumsq=self.sumsq + other.sumsq,
            promoters=self.promoters + other.promoters,
            passives=self.passives + other.passives,
            detractors=self.detractors + other.detractors,
            top2=self.top2 + other.top2,
        )


def agg_sum(aggs: Iterable[Agg]) -> Agg:
    """The sum of aggregates (an empty Agg for none)."""
    total = Agg()
    for agg in aggs:
        total = total + agg
    return total


@dataclass(frozen=True)
class Filters:
    """Restrictions common to every slice."""

    audience_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    survey_id: int | None = None
    segment: str | None = None
    touchpoint_id: int | None = None
    scale: int | None = None
    # Several audiences at once (the dashboard's index); None: as audience_id says.
    audience_ids: tuple[int, ...] | None = None


def score_from(metric: str, agg: Agg) -> d.Score:
    """Turn a slice's aggregates into the metric's Score."""
    if metric in ("nps", "enps"):
        return d.nps(promoters=agg.promoters, passives=agg.passives, detractors=agg.detractors)
    if metric == "csat":
        return d.csat(top2=agg.top2, n=agg.n)
    if metric in MEAN_METRICS:
        return d.mean(n=agg.n, total=agg.total, sumsq=agg.sumsq)
    raise UnknownSlice(_("Unknown metric %(m)s.") % {"m": metric})


def _question_type(metric: str) -> str:
    try:
        return METRIC_QUESTION_TYPE[metric]
    except KeyError:
        raise UnknownSlice(_("Unknown metric %(m)s.") % {"m": metric}) from None


METRIC_FIELDS: dict[str, tuple[str, ...]] = {
    "nps": ("n", "promoters", "passives", "detractors"),
    "enps": ("n", "promoters", "passives", "detractors"),
    "csat": ("n", "top2"),
    "csat_mean": ("n", "total", "sumsq"),
    "ces": ("n", "total", "sumsq"),
    "rating": ("n", "total", "sumsq"),
}
ALL_FIELDS = ("n", "total", "sumsq", "promoters", "passives", "detractors", "top2")


def raw_aggregates(fields: tuple[str, ...] = ALL_FIELDS) -> dict[str, Any]:
    """The additive aggregates over Answer.number (only those a metric needs)."""
    number = F("number")
    every = {
        "n": lambda: Count("number"),
        "total": lambda: Coalesce(Sum("number", output_field=BigIntegerField()), 0),
        "sumsq": lambda: Coalesce(Sum(number * number, output_field=BigIntegerField()), 0),
        "promoters": lambda: Count("id", filter=Q(number__gte=d.PROMOTER_MIN)),
        "passives": lambda: Count(
            "id", filter=Q(number__gte=d.PASSIVE_MIN, number__lt=d.PROMOTER_MIN)
        ),
        "detractors": lambda: Count("id", filter=Q(number__lt=d.PASSIVE_MIN)),
        "top2": lambda: Count("id", filter=Q(number__gte=d.CSAT_TOP2_MIN)),
    }
    return {name: every[name]() for name in fields}


def rollup_aggregates(fields: tuple[str, ...] = ALL_FIELDS) -> dict[str, Any]:
    return {name: Coalesce(Sum(name), 0) for name in fields}


def answers_scored(*, question_type: str | list[str], filters: Filters) -> QuerySet[Answer]:
    """Scored answers of completed, released responses, restricted by the filters.

    Unguarded: anonymous surveys' answers are in it too; what is shown goes through `read`.
    """
    types = [question_type] if isinstance(question_type, str) else list(question_type)
    qs = Answer.objects.filter(
        response__completed_on__isnull=False,
        response__released=True,
        number__isnull=False,
        question__type__in=types,
    )
    if filters.audience_id is not None:
        qs = qs.filter(response__audience_id=filters.audience_id)
    if filters.audience_ids is not None:
        qs = qs.filter(response__audience_id__in=filters.audience_ids)
    if filters.date_from is not None:
        qs = qs.filter(response__completed_on__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(response__completed_on__lte=filters.date_to)
    if filters.survey_id is not None:
        qs = qs.filter(response__survey_id=filters.survey_id)
    if filters.segment is not None:
        qs = qs.filter(response__segment=filters.segment)
    if filters.touchpoint_id is not None:
        qs = qs.filter(response__touchpoint_id=filters.touchpoint_id)
    if filters.scale is not None:
        qs = qs.filter(question__scale_max=filters.scale)
    return qs


def rollups(*, question_type: str | list[str], filters: Filters) -> QuerySet[DailyRollup]:
    """Rollup rows of question types, restricted by the same filters as the raw path.

    Unguarded, like `answers_scored`.
    """
    types = [question_type] if isinstance(question_type, str) else list(question_type)
    qs = DailyRollup.objects.filter(question_type__in=types)
    if filters.audience_id is not None:
        qs = qs.filter(audience_id=filters.audience_id)
    if filters.audience_ids is not None:
        qs = qs.filter(audience_id__in=filters.audience_ids)
    if filters.date_from is not None:
        qs = qs.filter(day__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(day__lte=filters.date_to)
    if filters.survey_id is not None:
        qs = qs.filter(survey_id=filters.survey_id)
    if filters.segment is not None:
        qs = qs.filter(segment=filters.segment)
    if filters.touchpoint_id is not None:
        qs = qs.filter(touchpoint_id=filters.touchpoint_id)
    if filters.scale is not None:
        qs = qs.filter(scale_max=filters.scale)
    return qs


def _group_expression(
    by: str, *, raw: bool, filters: Filters, side_from: dt.date | None = None
) -> Any:
    day = "response__completed_on" if raw else "day"
    if by in DIMENSIONS:
        return F(DIMENSIONS[by][0 if raw else 1])
    if by in PERIODS:
        return Trunc(day, by, output_field=DateField())
    if by == SIDE:
        if side_from is None:
            return Value("current")
        return Case(
            When(**{f"{day}__gte": side_from}, then=Value("current")),
            default=Value("previous"),
            output_field=CharField(),
        )
    if by == QUESTION_TYPE:
        return F("question__type" if raw else "question_type")
    if by == SCALE:
        return F("question__scale_max" if raw else "scale_max")
    if by.startswith(ATTRIBUTE_PREFIX):
        if not raw:
            raise UnknownSlice(_("Membership attributes are sliced from raw answers only."))
        # The member's attribute in the response's audience (anonymous responses have none).
        member = Membership.objects.filter(
            person_id=OuterRef("response__person_id"),
            audience_id=OuterRef("response__audience_id"),
        ).annotate(v=KeyTextTransform(by[len(ATTRIBUTE_PREFIX) :], "attributes"))
        return Subquery(member.values("v")[:1], output_field=CharField())
    if by.startswith(FIELD_PREFIX):
        if not raw:
            raise UnknownSlice(_("Hidden fields are sliced from raw answers only."))
        return KeyTextTransform(by[len(FIELD_PREFIX) :], "response__data")
    raise UnknownSlice(_("Unknown dimension %(by)s.") % {"by": by})


def raw_only(key: str) -> bool:
    """Whether a key is read from the answers only (attributes, hidden fields)."""
    return key.startswith((ATTRIBUTE_PREFIX, FIELD_PREFIX))


def _check_keys(keys: tuple[str, ...]) -> None:
    for key in keys:
        if key not in DIMENSIONS and key not in PERIODS and key not in (SIDE, QUESTION_TYPE, SCALE):
            if key.startswith(FIELD_PREFIX) and FIELD_NAME.fullmatch(key[len(FIELD_PREFIX) :]):
                continue
            if not key.startswith(ATTRIBUTE_PREFIX):
                raise UnknownSlice(_("Unknown dimension %(by)s.") % {"by": key})


def _date(value: Any) -> Any:
    """A Trunc to a date comes back as a datetime on some backends."""
    return value.date() if isinstance(value, dt.datetime) else value


def _grouped(
    qs: QuerySet[Any],
    *,
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    raw: bool,
    filters: Filters,
    side_from: dt.date | None,
) -> dict[tuple[Any, ...], Agg]:
    """One aggregate query: {key tuple: Agg} (the empty tuple for no keys)."""
    aggs = raw_aggregates(fields) if raw else rollup_aggregates(fields)
    if not keys:
        row = qs.aggregate(**aggs)
        return {(): Agg(**row)} if row["n"] else {}
    names = [f"k{i}" for i in range(len(keys))]
    qs = qs.annotate(
        **{
            name: _group_expression(key, raw=raw, filters=filters, side_from=side_from)
            for name, key in zip(names, keys, strict=True)
        }
    )
    result: dict[tuple[Any, ...], Agg] = {}
    for row in qs.values(*names).annotate(**aggs).order_by():
        if row["n"]:
            key = tuple(_date(row[name]) for name in names)
            result[key] = result.get(key, Agg()) + Agg(**{f: row[f] for f in fields})
    return result


def aggregate(
    *, metric: str, by: str | None, filters: Filters, source: str = "rollup"
) -> dict[Any, Agg]:
    """One aggregate query over raw answers or rollups: {group: Agg} (group None when `by` is
    None). Unguarded and not fresh: for checks and internal use; what users see is `figures`.

    Mean metrics group by (group, scale) so a 1–5 and a 1–7 scale are never pooled.
    """
    question_type = _question_type(metric)
    raw = source == "raw"
    if by is not None and raw_only(by):
        raw = True
    if by is not None:
        _check_keys((by,))
    qs: QuerySet[Any] = (
        answers_scored(question_type=question_type, filters=filters)
        if raw
        else rollups(question_type=question_type, filters=filters)
    )
    keys = _keys_of(metric, by)
    found = _grouped(
        qs, keys=keys, fields=METRIC_FIELDS[metric], raw=raw, filters=filters, side_from=None
    )
    return {_group_of(metric, by, key): agg for key, agg in found.items()}


def _keys_of(metric: str, by: str | None) -> tuple[str, ...]:
    keys = () if by is None else (by,)
    return (*keys, SCALE) if metric in MEAN_METRICS else keys


def _group_of(metric: str, by: str | None, key: tuple[Any, ...]) -> Any:
    """A key tuple as `aggregate` names groups: the group, (group, scale) for mean metrics."""
    if metric in MEAN_METRICS:
        return (key[0] if by is not None else None, key[-1])
    return key[0] if by is not None else None
