"""The one read: exact named figures plus guarded anonymous ones (`metrics.privacy`), and the
scope a read covers (its surveys, their reporting periods and the rollups' watermark)."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    DateField,
    F,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from metrics import privacy
from metrics.field_slices import NO_VALUE, DataKey, data_items, shown_field_values
from metrics.models import DailyRollup, RollupState
from metrics.selectors.slices import (
    ATTRIBUTE_PREFIX,
    FIELD_PREFIX,
    PERIODS,
    QUESTION_TYPE,
    SCALE,
    SIDE,
    Agg,
    Filters,
    _check_keys,
    _date,
    _grouped,
    agg_sum,
    answers_scored,
    raw_aggregates,
    raw_only,
    rollup_aggregates,
    rollups,
)
from surveys.models import Answer, ReportingPeriod, Survey

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
    # Its hidden fields (surveys.hidden_fields): what the dashboard offers to slice by.
    hidden_fields: tuple[str, ...] = ()


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
            "hidden_fields",
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
            hidden_fields=tuple(r["hidden_fields"] or ()),
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
    every_day_raw = through is None or any(raw_only(k) for k in keys)
    parts: list[tuple[QuerySet[Any], bool]] = []
    if (
        through is not None
        and not every_day_raw
        and (filters.date_from is None or filters.date_from <= through)
    ):
        rolled = rollups(question_type=question_types, filters=filters).filter(
            anonymous=False, day__lte=through
        )
        parts.append((rolled, False))
    if through is None or every_day_raw or filters.date_to is None or filters.date_to > through:
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
    if any(k.startswith(FIELD_PREFIX) for k in keys):
        if person is not None or sum(k.startswith(FIELD_PREFIX) for k in keys) > 1:
            return {}, set()  # one slicing dimension at a time
        return _anonymous_by_field(
            question_types=question_types,
            keys=keys,
            fields=fields,
            filters=filters,
            surveys=surveys,
            periods=periods,
            side_from=side_from,
        )
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
        sources.append(rolled.values(*columns).annotate(**rollup_aggregates(fields)))
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
        sources.append(fresh.values("question_id", **named).annotate(**raw_aggregates(fields)))
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


def _anonymous_by_field(
    *,
    question_types: list[str],
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    filters: Filters,
    surveys: dict[int, SurveyInfo],
    periods: dict[tuple[int, dt.date], Any],
    side_from: dt.date | None,
) -> tuple[dict[tuple[Any, ...], Agg], set[tuple[Any, ...]]]:
    """Anonymous figures by one hidden field (metrics.field_slices), from the answers of the
    published periods: one query, grouped by block, person dimensions and response data."""
    key_of_field = next(k for k in keys if k.startswith(FIELD_PREFIX))
    name = key_of_field[len(FIELD_PREFIX) :]
    answers = Answer.objects.filter(
        response__survey_id__in=list(surveys),
        response__completed_on__in=sorted({day for _, day in periods}),
        response__released=True,
        number__isnull=False,
        question__type__in=question_types,
    )
    if filters.scale is not None:
        answers = answers.filter(question__scale_max=filters.scale)
    grouped: QuerySet[Any] = answers.values(
        "question_id", **RAW_BLOCK, **RAW_PERSON, data=F("response__data")
    ).annotate(**raw_aggregates(fields))
    blocks: dict[tuple[Any, ...], dict[DataKey, Agg]] = {}
    for row in grouped.order_by():
        block = (row["survey_id"], _date(row["day"]), *(row[c] for c in BLOCK[2:]))
        cell = (row["segment"], row["channel"], row["language"], data_items(row["data"]))
        cells = blocks.setdefault(block, {})
        cells[cell] = cells.get(cell, Agg()) + Agg(**{f: row[f] for f in fields})
    shown: dict[tuple[Any, ...], Agg] = {}
    hidden: set[tuple[Any, ...]] = set()
    for block, cells in blocks.items():
        if (block[0], block[1]) not in periods:
            continue
        info = surveys[block[0]]
        visible = shown_field_values({c: a.n for c, a in cells.items()}, k=info.k, field=name)
        by_value: dict[str, Agg] = {}
        for cell, agg in cells.items():
            value = dict(cell[3]).get(name, NO_VALUE)
            by_value[value] = by_value.get(value, Agg()) + agg
        for value, agg in by_value.items():
            group = value if value != NO_VALUE else None
            key = _block_key(keys, info=info, block=block, person=group, side_from=side_from)
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
        if key in privacy.PERSON_DIMENSIONS or key.startswith(FIELD_PREFIX)
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
