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
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Trunc, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind, Membership
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import definitions as d
from metrics import privacy
from metrics.models import DailyOutcome, DailyRollup, EventDay, RollupState
from surveys.models import Answer, Invitation, QuestionType, ReportingPeriod, Survey

# metric name -> question type it is computed from
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


def _raw_aggregates(fields: tuple[str, ...] = ALL_FIELDS) -> dict[str, Any]:
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


def _rollup_aggregates(fields: tuple[str, ...] = ALL_FIELDS) -> dict[str, Any]:
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
    raise UnknownSlice(_("Unknown dimension %(by)s.") % {"by": by})


def _check_keys(keys: tuple[str, ...]) -> None:
    for key in keys:
        if key not in DIMENSIONS and key not in PERIODS and key not in (SIDE, QUESTION_TYPE, SCALE):
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
    aggs = _raw_aggregates(fields) if raw else _rollup_aggregates(fields)
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
    if by is not None and by.startswith(ATTRIBUTE_PREFIX):
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


# --- What one read covers ---------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyInfo:
    """What a read needs of one survey (an anonymous survey's slices come from it)."""

    pk: int
    name: str
    audience_id: int
    anonymous: bool
    touchpoint_id: int | None
    stage_id: int | None
    journey_id: int | None
    k: int


@dataclass(frozen=True)
class PeriodInfo:
    starts_on: dt.date
    ends_on: dt.date
    published: bool


@dataclass(frozen=True)
class Scope:
    """The surveys a read covers, their reporting periods in its window, and the rollups' reach.

    `through` is the last day the rollups hold completely (None: read every day raw).
    """

    surveys: dict[int, SurveyInfo]
    periods: dict[tuple[int, dt.date], PeriodInfo]
    through: dt.date | None
    as_of: dt.datetime

    @property
    def has_named(self) -> bool:
        return any(not s.anonymous for s in self.surveys.values())


def read_scope(*, filters: Filters, now: dt.datetime | None = None) -> Scope:
    """The surveys of the filters' audience(s) (with the rollups' watermark in the same query)
    and, when some are anonymous, their reporting periods starting in the window: two queries.
    """
    as_of = now or timezone.now()
    qs = Survey.objects.all()
    if filters.audience_id is not None:
        qs = qs.filter(audience_id=filters.audience_id)
    if filters.audience_ids is not None:
        qs = qs.filter(audience_id__in=filters.audience_ids)
    if filters.survey_id is not None:
        qs = qs.filter(pk=filters.survey_id)
    watermark = RollupState.objects.filter(pk=1).values("complete_through")[:1]
    rows = list(
        qs.annotate(through=Subquery(watermark, output_field=DateField()))
        .order_by("name", "pk")
        .values(
            "pk",
            "name",
            "audience_id",
            "anonymous",
            "touchpoint_id",
            "touchpoint__stage_id",
            "touchpoint__stage__journey_id",
            "audience__anonymity_threshold",
            "through",
        )
    )
    surveys = {
        r["pk"]: SurveyInfo(
            pk=r["pk"],
            name=r["name"],
            audience_id=r["audience_id"],
            anonymous=r["anonymous"],
            touchpoint_id=r["touchpoint_id"],
            stage_id=r["touchpoint__stage_id"],
            journey_id=r["touchpoint__stage__journey_id"],
            k=privacy.threshold(r["audience__anonymity_threshold"]),
        )
        for r in rows
    }
    through = _date(rows[0]["through"]) if rows else None
    periods: dict[tuple[int, dt.date], PeriodInfo] = {}
    anonymous = [pk for pk, s in surveys.items() if s.anonymous]
    if anonymous:
        found = ReportingPeriod.objects.filter(survey_id__in=anonymous)
        if filters.date_from is not None:
            found = found.filter(starts_on__gte=filters.date_from)
        if filters.date_to is not None:
            found = found.filter(starts_on__lte=filters.date_to)
        for survey_id, starts_on, ends_on, published_at in found.values_list(
            "survey_id", "starts_on", "ends_on", "published_at"
        ).order_by():
            periods[(survey_id, starts_on)] = PeriodInfo(
                starts_on=starts_on, ends_on=ends_on, published=published_at is not None
            )
    return Scope(surveys=surveys, periods=periods, through=through, as_of=as_of)


# --- The one read -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """What a read shows: {key: Agg} per group, the groups whose anonymous data were withheld,
    when it was read, and the window its figures cover (anonymous periods whole)."""

    shown: dict[tuple[Any, ...], Agg]
    hidden: frozenset[tuple[Any, ...]] = frozenset()
    as_of: dt.datetime = field(default_factory=timezone.now)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def read(
    *,
    question_types: list[str],
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    filters: Filters,
    scope: Scope,
    side_from: dt.date | None = None,
) -> Figures:
    """Exact named figures plus guarded anonymous ones, {key tuple: Agg}, grouped by `keys`.

    Keys: DIMENSIONS, PERIODS, attributes, SIDE ("current" from `side_from` on, else
    "previous"), QUESTION_TYPE and SCALE. Queries: for named surveys the rollups up to the
    watermark and the answers after it; for anonymous ones the same over their period starts
    (either is skipped when its days are outside the window).
    """
    _check_keys(keys)
    shown: dict[tuple[Any, ...], Agg] = {}
    if scope.has_named:
        shown = _named(
            question_types=question_types,
            keys=keys,
            fields=fields,
            filters=filters,
            scope=scope,
            side_from=side_from,
        )
    anonymous, hidden = _anonymous(
        question_types=question_types,
        keys=keys,
        fields=fields,
        filters=filters,
        scope=scope,
        side_from=side_from,
    )
    for key, agg in anonymous.items():
        shown[key] = shown.get(key, Agg()) + agg
    date_from, date_to = _window(filters, scope)
    return Figures(
        shown=shown,
        hidden=frozenset(hidden),
        as_of=scope.as_of,
        date_from=date_from,
        date_to=date_to,
    )


def _named(
    *,
    question_types: list[str],
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    filters: Filters,
    scope: Scope,
    side_from: dt.date | None,
) -> dict[tuple[Any, ...], Agg]:
    """Named surveys' figures: rollups up to the watermark, answers after it, summed."""
    through = scope.through
    every_day_raw = through is None or any(k.startswith(ATTRIBUTE_PREFIX) for k in keys)
    parts: list[tuple[QuerySet[Any], bool]] = []
    if not every_day_raw and (filters.date_from is None or filters.date_from <= through):
        rolled = rollups(question_type=question_types, filters=filters).filter(
            anonymous=False, day__lte=through
        )
        parts.append((rolled, False))
    if every_day_raw or filters.date_to is None or filters.date_to > through:
        fresh = answers_scored(question_type=question_types, filters=filters).filter(
            response__survey__anonymous=False
        )
        if not every_day_raw:
            fresh = fresh.filter(response__completed_on__gt=through)
        parts.append((fresh, True))
    result: dict[tuple[Any, ...], Agg] = {}
    for qs, raw in parts:
        found = _grouped(
            qs, keys=keys, fields=fields, raw=raw, filters=filters, side_from=side_from
        )
        for key, agg in found.items():
            result[key] = result.get(key, Agg()) + agg
    return result


BLOCK = ("survey_id", "day", "question_id", "question_type", "scale_max")
# The same columns read from the answers (days after the watermark).
RAW_BLOCK = {
    "survey_id": F("response__survey_id"),
    "day": F("response__completed_on"),
    "question_type": F("question__type"),
    "scale_max": F("question__scale_max"),
}
RAW_PERSON = {
    "segment": F("response__segment"),
    "channel": F("response__channel"),
    "language": F("response__language"),
}


def _anonymous(
    *,
    question_types: list[str],
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    filters: Filters,
    scope: Scope,
    side_from: dt.date | None,
) -> tuple[dict[tuple[Any, ...], Agg], set[tuple[Any, ...]]]:
    """Anonymous surveys' shown figures and withheld groups (metrics.privacy, points 1–4), of
    their published periods only."""
    persons = {k for k in keys if k in privacy.PERSON_DIMENSIONS}
    if filters.segment is not None:
        persons.add("segment")
    if len(persons) > 1 or any(k.startswith(ATTRIBUTE_PREFIX) for k in keys):
        return {}, set()  # one person dimension at a time; attributes slice nothing anonymous
    person = next(iter(persons), None)
    surveys = {
        pk: s
        for pk, s in scope.surveys.items()
        if s.anonymous
        and (filters.touchpoint_id is None or s.touchpoint_id == filters.touchpoint_id)
    }
    # Published periods only, totals included (metrics.privacy, point 3): an open period shows
    # nothing, so no figure taken while it is open can be subtracted from one taken after.
    periods = {key: p for key, p in scope.periods.items() if key[0] in surveys and p.published}
    if not periods:
        return {}, set()
    columns = [*BLOCK, *(privacy.PERSON_DIMENSIONS if person else ())]
    starts = {day for _, day in periods}
    rolled_days = {day for day in starts if scope.through is not None and day <= scope.through}
    sources: list[QuerySet[Any]] = []
    if rolled_days:
        rolled = DailyRollup.objects.filter(
            anonymous=True,
            survey_id__in=list(surveys),
            day__in=sorted(rolled_days),
            question_type__in=question_types,
        )
        if filters.scale is not None:
            rolled = rolled.filter(scale_max=filters.scale)
        sources.append(rolled.values(*columns).annotate(**_rollup_aggregates(fields)))
    if starts - rolled_days:
        fresh = Answer.objects.filter(
            response__survey_id__in=list(surveys),
            response__completed_on__in=sorted(starts - rolled_days),
            response__released=True,
            number__isnull=False,
            question__type__in=question_types,
        )
        if filters.scale is not None:
            fresh = fresh.filter(question__scale_max=filters.scale)
        named = {**RAW_BLOCK, **(RAW_PERSON if person else {})}
        sources.append(fresh.values("question_id", **named).annotate(**_raw_aggregates(fields)))
    blocks: dict[tuple[Any, ...], dict[tuple[Any, ...], Agg]] = {}
    for qs in sources:
        for row in qs.order_by():
            block = (row["survey_id"], _date(row["day"]), *(row[c] for c in BLOCK[2:]))
            cell = tuple(row[c] for c in columns[len(BLOCK) :])
            cells = blocks.setdefault(block, {})
            cells[cell] = cells.get(cell, Agg()) + Agg(**{f: row[f] for f in fields})
    shown: dict[tuple[Any, ...], Agg] = {}
    hidden: set[tuple[Any, ...]] = set()
    for block, cells in blocks.items():
        survey_id, day = block[0], block[1]
        if (survey_id, day) not in periods:
            continue  # not on one of the survey's period starts: never counted
        info = surveys[survey_id]
        if person is None:
            key = _block_key(keys, info=info, block=block, person=None, side_from=side_from)
            total = agg_sum(cells.values())
            if total.n < info.k:
                hidden.add(key)
            else:
                shown[key] = shown.get(key, Agg()) + total
            continue
        position = privacy.PERSON_DIMENSIONS.index(person)
        visible = privacy.shown_values({c: a.n for c, a in cells.items()}, k=info.k)[person]
        by_value: dict[str, Agg] = {}
        for cell, agg in cells.items():
            by_value[cell[position]] = by_value.get(cell[position], Agg()) + agg
        for value, agg in by_value.items():
            if filters.segment is not None and value != filters.segment:
                continue
            key = _block_key(keys, info=info, block=block, person=value, side_from=side_from)
            if value in visible:
                shown[key] = shown.get(key, Agg()) + agg
            else:
                hidden.add(key)
    return shown, hidden


def _block_key(
    keys: tuple[str, ...],
    *,
    info: SurveyInfo,
    block: tuple[Any, ...],
    person: str | None,
    side_from: dt.date | None,
) -> tuple[Any, ...]:
    """The key of an anonymous block's figure: survey-level parts from the survey, time from
    the period's first day, the person part from the cell."""
    _survey_id, day, question_id, question_type, scale = block
    parts = {
        SIDE: "current" if side_from is None or day >= side_from else "previous",
        QUESTION_TYPE: question_type,
        SCALE: scale,
        "audience": info.audience_id,
        "survey": info.pk,
        "question": question_id,
        "touchpoint": info.touchpoint_id,
        "stage": info.stage_id,
        "journey": info.journey_id,
    }
    return tuple(
        person
        if key in privacy.PERSON_DIMENSIONS
        else period_start(day, key)
        if key in PERIODS
        else parts[key]
        for key in keys
    )


def period_start(day: dt.date, period: str) -> dt.date:
    """The first day of the day / week (Monday) / month / quarter holding `day`, as Trunc does."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "quarter":
        return day.replace(month=day.month - (day.month - 1) % 3, day=1)
    return day


def _window(filters: Filters, scope: Scope) -> tuple[dt.date | None, dt.date | None]:
    """The days the figures cover: the requested window, where an anonymous survey's periods
    starting in it count whole (so `to` reaches the last one's end; with no named survey in
    the read, `from` is the first one's start)."""
    periods = [
        p
        for (survey_id, _day), p in scope.periods.items()
        if filters.touchpoint_id is None
        or scope.surveys[survey_id].touchpoint_id == filters.touchpoint_id
    ]
    if not periods:
        return filters.date_from, filters.date_to
    date_from, date_to = filters.date_from, filters.date_to
    last = max(p.ends_on for p in periods)
    if date_from is not None and not scope.has_named:
        date_from = min(p.starts_on for p in periods)
    if date_to is not None:
        date_to = max(date_to, last) if scope.has_named else last
    return date_from, date_to


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


def suppress_siblings(rows: list[dict[str, Any]], *, threshold: int) -> list[dict[str, Any]]:
    """Hide slices under the threshold, and their complement so no subtraction reveals them.

    Sibling slices add up to the total shown elsewhere, so a lone hidden slice equals "total
    minus the others". While the hidden ones are fewer than two or hold fewer than `threshold`
    answers together, the next-smallest visible sibling is hidden too. (For per-survey counts
    outside the scores read; scores of anonymous surveys go through metrics.privacy.)
    """
    hidden = {i for i, r in enumerate(rows) if r["n"] < threshold}
    if hidden:
        visible = sorted(
            (i for i in range(len(rows)) if i not in hidden), key=lambda i: rows[i]["n"]
        )
        while visible and (len(hidden) < 2 or sum(rows[i]["n"] for i in hidden) < threshold):
            hidden.add(visible.pop(0))
    out = []
    for i, row in enumerate(rows):
        if i in hidden:
            out.append({"group": row["group"], "suppressed": True, **_extra(row)})
        else:
            out.append(row)
    return out


def _extra(row: dict[str, Any]) -> dict[str, Any]:
    return {"scale": row["scale"]} if "scale" in row else {}


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


# --- Response rate, operations, Return on Experience -----------------------------------------


def _published_period(survey: str, **lookups: Any) -> Exists:
    """Whether the outer row's survey has a published reporting period matching `lookups`."""
    return Exists(
        ReportingPeriod.objects.filter(
            survey_id=OuterRef(survey), published_at__isnull=False, **lookups
        )
    )


def answers_counted(qs: QuerySet[Answer]) -> QuerySet[Answer]:
    """The answers of named surveys, and of anonymous surveys' published periods only (an
    anonymous response sits on its period's first day): what any figure may count."""
    return qs.filter(
        Q(response__survey__anonymous=False)
        | _published_period("response__survey_id", starts_on=OuterRef("response__completed_on"))
    )


def invitations_counted() -> tuple[Any, Any]:
    """(which sent invitations a response rate counts, which of them count as answered).

    Every invitation of a named survey. Of an anonymous survey, only those sent by the end of
    a published period, answered in a published period (its invitation says it was answered
    at midnight UTC of the period's first day): no rate moves while a period is open.
    """
    named = Q(survey__anonymous=False)
    sent_on = TruncDate(ExpressionWrapper(OuterRef("sent_at"), output_field=DateTimeField()))
    answered_on = TruncDate(
        ExpressionWrapper(OuterRef("responded_at"), output_field=DateTimeField()), tzinfo=dt.UTC
    )
    sent = named | _published_period("survey_id", ends_on__gte=sent_on)
    answered = named | _published_period("survey_id", starts_on=answered_on)
    return sent, Q(responded_at__isnull=False) & answered


def response_rates(
    *, audience_ids: list[int], date_from: dt.date | None = None
) -> dict[int, float | None]:
    """Responses / invitations sent per audience, in one grouped query (anonymous surveys:
    their published periods only, `invitations_counted`)."""
    sent, answered = invitations_counted()
    qs = Invitation.objects.filter(
        sent, survey__audience_id__in=audience_ids, sent_at__isnull=False
    )
    if date_from is not None:
        qs = qs.filter(sent_at__gte=day_start(date_from))
    rows = qs.values("survey__audience_id").annotate(
        sent=Count("id"), responded=Count("id", filter=answered)
    )
    return {
        r["survey__audience_id"]: d.response_rate(responses=r["responded"], sent=r["sent"])
        for r in rows.order_by()
    }


def day_start(day: dt.date) -> dt.datetime:
    """The first moment of `day` in the current time zone, as `__date` lookups count days.

    Comparing the moment itself, not its date, lets an index on the datetime column serve
    a range of days.
    """
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _number(key: str) -> Any:
    return Cast(KeyTextTransform(key, "attributes"), FloatField())


def event_sums() -> dict[str, Any]:
    """Per group of events: their count, Σ value, Σ handling seconds, first-contact resolved."""
    return {
        "events": Count("id"),
        "value": Sum(_number("value")),
        "handling": Sum(_number("handling_seconds")),
        "resolved": Count("id", filter=Q(attributes__first_contact_resolved=True)),
    }


def operational_metrics(
    *,
    audience: Audience,
    date_from: dt.date,
    date_to: dt.date,
    profit_margin: float = 1.0,
    source: str = "raw",
) -> dict[str, float | None]:
    """Churn, CRR, CLV, AHT, FCR, referral rate and trial-to-paid from role-tagged events.

    Two queries: the period's events by role (raw, or summed per person and day by the
    rollup task: `EventDay`), and the members at its start. Trial-to-paid takes the trials
    started in the period as the trials that ended in it (no end events).
    """
    if source == "raw":
        role = "touchpoint__role"
        events: QuerySet[Any] = TouchpointEvent.objects.filter(
            touchpoint__stage__journey__audience=audience,
            occurred_at__gte=day_start(date_from),
            occurred_at__lt=day_start(date_to + dt.timedelta(days=1)),
        )
        value, handling = _number("value"), _number("handling_seconds")

        def count(of: Q) -> Any:
            return Count("id", filter=of)

        def resolved(of: Q) -> Any:
            return Count("id", filter=of & Q(attributes__first_contact_resolved=True))

    else:
        role = "role"
        events = EventDay.objects.filter(
            audience_id=audience.pk, day__gte=date_from, day__lte=date_to
        )
        value, handling = F("value"), F("handling")

        def count(of: Q) -> Any:
            return Coalesce(Sum("events", filter=of), 0)

        def resolved(of: Q) -> Any:
            return Coalesce(Sum("resolved", filter=of), 0)

    purchase = Q(**{role: TouchpointRole.PURCHASE})
    support = Q(**{role: TouchpointRole.SUPPORT_REQUEST})
    e = events.aggregate(
        purchases=count(purchase),
        purchasers=Count("person_id", filter=purchase, distinct=True),
        purchase_value=Sum(value, filter=purchase),
        signups=count(Q(**{role: TouchpointRole.SIGNUP})),
        trials=count(Q(**{role: TouchpointRole.TRIAL_STARTED})),
        conversions=count(Q(**{role: TouchpointRole.TRIAL_CONVERTED})),
        churned=count(Q(**{role: TouchpointRole.CHURNED})),
        referrals=count(Q(**{role: TouchpointRole.REFERRAL})),
        support=count(support),
        handling=Sum(handling, filter=support),
        resolved=resolved(support),
    )
    at_start = Membership.objects.filter(
        Q(joined_on__isnull=True) | Q(joined_on__lt=date_from),
        Q(left_on__isnull=True) | Q(left_on__gte=date_from),
        audience=audience,
    ).count()
    churn = d.churn_rate(lost=e["churned"], at_start=at_start)
    at_end = at_start + e["signups"] - e["churned"]
    mean_order = d.ratio(e["purchase_value"] or 0, e["purchases"])
    per_customer = d.ratio(e["purchases"], e["purchasers"])
    return {
        "customers_at_start": at_start,
        "customers_at_end": at_end,
        "churn_rate": churn,
        "retention_rate": d.customer_retention_rate(
            at_end=at_end, new=e["signups"], at_start=at_start
        ),
        "clv": d.customer_lifetime_value(
            mean_order_value=mean_order,
            purchases_per_period=per_customer,
            retention_periods=d.retention_periods(churn_percent=churn),
            profit_margin=profit_margin,
        ),
        "aht": d.average_handling_time(total_seconds=e["handling"] or 0, requests=e["support"]),
        "fcr": d.first_contact_resolution(resolved=e["resolved"], requests=e["support"]),
        "referral_rate": d.referral_rate(referred=e["referrals"], purchases=e["purchases"]),
        "trial_to_paid": d.trial_to_paid(conversions=e["conversions"], trials_ended=e["trials"]),
    }


NPS_CATEGORIES = ("promoter", "passive", "detractor")


def outcomes_after(*, person: str, audience: str, after: str) -> dict[str, Any]:
    """`churned` and `spend`: the person's churn and purchases at the audience's touchpoints
    after a moment, as expressions over the outer row's fields named by the arguments."""
    events = TouchpointEvent.objects.filter(
        person_id=OuterRef(person),
        touchpoint__stage__journey__audience_id=OuterRef(audience),
        occurred_at__gt=OuterRef(after),
    )
    spend = (
        events.filter(touchpoint__role=TouchpointRole.PURCHASE)
        .order_by()
        .values("person_id")
        .annotate(total=Sum(_number("value")))
        .values("total")
    )
    return {
        "churned": Exists(events.filter(touchpoint__role=TouchpointRole.CHURNED)),
        "spend": Coalesce(Subquery(spend, output_field=FloatField()), Value(0.0)),
    }


def nps_answers_named(*, filters: Filters) -> QuerySet[Answer]:
    """NPS answers of known people (the answers Return on Experience follows)."""
    return answers_scored(question_type=QuestionType.NPS, filters=filters).filter(
        response__person__isnull=False, response__completed_at__isnull=False
    )


def nps_category() -> Case:
    """promoter / passive / detractor of an NPS answer's number."""
    return Case(
        When(number__gte=d.PROMOTER_MIN, then=Value("promoter")),
        When(number__gte=d.PASSIVE_MIN, then=Value("passive")),
        default=Value("detractor"),
        output_field=CharField(),
    )


def return_on_experience(
    *, audience: Audience, filters: Filters, source: str = "rollup"
) -> dict[str, dict[str, float | int | None]]:
    """Retention, churn and mean spend after answering, per NPS category, in one query.

    Counted per answered NPS question of a known person; outcomes are the person's purchase
    and churn events at this audience's touchpoints after the response was completed. The
    rollup source sums the daily outcomes kept by the rollup task (`DailyOutcome`); the raw
    source, also used for touchpoint and scale slices, follows each answer's events.
    """
    filters = replace(filters, audience_id=audience.pk)
    rows: Any
    if source == "raw" or filters.scale is not None or filters.touchpoint_id is not None:
        rows = (
            nps_answers_named(filters=filters)
            .annotate(
                **outcomes_after(
                    person="response__person_id",
                    audience="response__audience_id",
                    after="response__completed_at",
                ),
                category=nps_category(),
            )
            .values("category")
            .annotate(
                n=Count("id"),
                lost=Count("id", filter=Q(churned=True)),
                spent=Sum("spend"),
            )
            .order_by()
        )
    else:
        qs = DailyOutcome.objects.filter(audience_id=audience.pk)
        if filters.date_from is not None:
            qs = qs.filter(day__gte=filters.date_from)
        if filters.date_to is not None:
            qs = qs.filter(day__lte=filters.date_to)
        if filters.survey_id is not None:
            qs = qs.filter(survey_id=filters.survey_id)
        if filters.segment is not None:
            qs = qs.filter(segment=filters.segment)
        rows = (
            qs.values("category")
            .annotate(n=Sum("n"), lost=Sum("lost"), spent=Sum("spend"))
            .order_by()
        )
    found = {r["category"]: r for r in rows}
    threshold = audience.anonymity_threshold
    result: dict[str, dict[str, float | int | None]] = {}
    for category in NPS_CATEGORIES:
        r = found.get(category)
        n = r["n"] if r else 0
        if n < threshold:
            result[category] = {"n": n, "suppressed": True}
            continue
        assert r is not None  # noqa: S101  (n > 0 implies a row)
        churn = d.churn_rate(lost=r["lost"], at_start=n)
        result[category] = {
            "n": n,
            "suppressed": False,
            "churn_rate": churn,
            "retention_rate": None if churn is None else 100 - churn,
            "mean_spend": d.ratio(r["spent"] or 0, n),
        }
    return result


def headline_metric(audience: Audience, available: set[str]) -> str | None:
    """NPS for customers and fans, eNPS for employees, otherwise NPS or CSAT as available."""
    if audience.kind == AudienceKind.EMPLOYEE:
        return "enps" if "nps" in available else ("csat" if "csat" in available else None)
    if "nps" in available:
        return "nps"
    if "csat" in available:
        return "csat"
    return None


# --- The closed loop: cases on the audience page ---------------------------------------------


def closed_loop(
    *, audience: Audience, date_from: dt.date | None, date_to: dt.date
) -> dict[str, Any]:
    """Cases opened in the period: closed-loop rate, median time to close, detractor recovery.

    The closed-loop rate is resolved cases / cases opened, in percent (won't-fix does not close
    the loop with the respondent). Recovery follows the detractors (NPS ≤ 6) whose case was
    resolved to their first NPS answer in this audience completed after the case was closed;
    it is shown only when at least the anonymity threshold of them answered again.
    Three queries at most, whatever the number of cases.
    """
    from metrics.models import CLOSED_STATUSES, Case, CaseStatus

    cases = Case.objects.filter(
        audience_id=audience.pk, opened_at__lt=day_start(date_to + dt.timedelta(days=1))
    )
    if date_from is not None:
        cases = cases.filter(opened_at__gte=day_start(date_from))
    counts = cases.aggregate(
        opened=Count("id"),
        closed=Count("id", filter=Q(status__in=CLOSED_STATUSES)),
        resolved=Count("id", filter=Q(status=CaseStatus.RESOLVED)),
    )
    result: dict[str, Any] = {
        **counts,
        "rate": None if not counts["opened"] else counts["resolved"] * 100 / counts["opened"],
        "median_hours": None,
        "recovery": None,
    }
    if counts["closed"]:
        # The median from the ordered durations: the middle one, or the mean of the two.
        k = counts["closed"]
        durations = list(
            cases.filter(status__in=CLOSED_STATUSES)
            .annotate(took=ExpressionWrapper(F("closed_at") - F("opened_at"), DurationField()))
            .order_by("took")
            .values_list("took", flat=True)[(k - 1) // 2 : k // 2 + 1]
        )
        seconds = sum(t.total_seconds() for t in durations) / len(durations)
        result["median_hours"] = seconds / 3600
    if counts["resolved"]:
        result["recovery"] = _detractor_recovery(audience, cases)
    return result


def _detractor_recovery(audience: Audience, cases: QuerySet[Any]) -> dict[str, Any]:
    from metrics.models import CaseStatus

    detractor = Answer.objects.filter(
        response_id=OuterRef("response_id"),
        question__type=QuestionType.NPS,
        number__lt=d.PASSIVE_MIN,
    )
    later = (
        Answer.objects.filter(
            response__person_id=OuterRef("person_id"),
            response__audience_id=audience.pk,
            response__completed_at__gt=OuterRef("closed_at"),
            question__type=QuestionType.NPS,
            number__isnull=False,
        )
        .order_by("response__completed_at", "response_id")
        .values("number")[:1]
    )
    # Counted per next score (at most 12 groups), so each case's next answer is looked up
    # once rather than once per count.
    by_score = (
        cases.filter(status=CaseStatus.RESOLVED, person__isnull=False)
        .filter(Exists(detractor))
        .annotate(next_score=Subquery(later))
        .values("next_score")
        .annotate(cases=Count("id"))
        .order_by()
    )
    row = dict.fromkeys(("followed", "answered", "promoters", "passives", "detractors"), 0)
    for group in by_score:
        score, count = group["next_score"], group["cases"]
        row["followed"] += count
        if score is None:
            continue
        row["answered"] += count
        if score >= d.PROMOTER_MIN:
            row["promoters"] += count
        elif score >= d.PASSIVE_MIN:
            row["passives"] += count
        else:
            row["detractors"] += count
    shown = row["answered"] >= audience.anonymity_threshold
    score = d.nps(
        promoters=row["promoters"], passives=row["passives"], detractors=row["detractors"]
    )
    return {
        "followed": row["followed"],
        "answered": row["answered"],
        "suppressed": not shown,
        "promoters": row["promoters"] if shown else None,
        "passives": row["passives"] if shown else None,
        "detractors": row["detractors"] if shown else None,
        "nps": score.value if shown else None,
    }
