"""The rows of a key-driver analysis, read set-based: one row per completed, released response
that answered the outcome question, one column per driver.

Drivers: the survey's other scored questions (their numbers), one 0/1 indicator per option of
its choice questions ("<key>=<value>"), and, for named surveys, one 0/1 column per touchpoint
of the survey's audience that the respondent experienced in the N days before answering
("touchpoint:<slug>"; anonymous responses carry no person, so no touchpoints).

Three to five queries whatever the number of rows: the questions, the answers (one
`values_list`, pivoted with numpy), the touchpoint events joined to the responses (named
surveys), the touchpoints' names, and for anonymous surveys the published periods (and their
segment cells under a segment filter).

Anonymous surveys (metrics.privacy): only published reporting periods that start in the
window count, whole; a period whose rows hold fewer than k answers to the outcome is left out,
and a driver question answered by fewer than k in a period counts as unanswered there (a block
under k shows nothing). A segment filter keeps a period only where the dashboard would show
that segment's cell (`privacy.shown_values`: at least k, no complement under k, no overlap).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Count, F, Max, Q, QuerySet, TextField
from django.db.models.functions import Cast

from journeys.models import Touchpoint
from metrics import privacy
from metrics.field_slices import DataKey, data_items, shown_field_values
from surveys.models import (
    SCORED_TYPES,
    Answer,
    Question,
    QuestionType,
    ReportingPeriod,
    Response,
    Survey,
)

# Question types an analysis can explain (eNPS is an NPS question of an employee audience).
OUTCOME_TYPES = frozenset({QuestionType.NPS, QuestionType.CSAT, QuestionType.RATING})
CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
TOUCHPOINT_PREFIX = "touchpoint:"


def scale_of(question_type: str, scale_max: int | None) -> tuple[int, int]:
    """The lowest and highest answer of a scored question."""
    if question_type == QuestionType.NPS:
        return 0, 10
    if question_type == QuestionType.CSAT:
        return 1, 5
    return 1, scale_max or 5


@dataclass(frozen=True)
class DriverFilters:
    """What an analysis is restricted to: completion days (inclusive), one segment and one
    value of a hidden field ("name:value", surveys.hidden_fields)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    segment: str | None = None
    hidden_field: str | None = None

    def canonical(self) -> dict[str, str | None]:
        found = {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "segment": self.segment or None,
        }
        if self.hidden_field:  # only when set: keys of analyses without it stay as they were
            found["field"] = self.hidden_field
        return found

    def field_pair(self) -> tuple[str, str] | None:
        """The hidden field's (name, value), or None."""
        if not self.hidden_field or ":" not in self.hidden_field:
            return None
        name, value = self.hidden_field.split(":", 1)
        return name, value

    @property
    def key(self) -> str:
        """A stable hash of the canonical filters: the cache's key beside survey and outcome."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_canonical(cls, data: dict[str, Any]) -> DriverFilters:
        return cls(
            date_from=dt.date.fromisoformat(data["from"]) if data.get("from") else None,
            date_to=dt.date.fromisoformat(data["to"]) if data.get("to") else None,
            segment=data.get("segment") or None,
            hidden_field=data.get("field") or None,
        )


@dataclass(frozen=True)
class Column:
    """One driver: its id, its labels per language, and how its performance reads."""

    driver: str
    labels: dict[str, str]
    kind: str  # "score" (mean on a scale), "choice" or "touchpoint" (shares)
    scale: tuple[int, int] | None = None


@dataclass
class Matrix:
    """The outcome per row, the drivers (NaN: not answered), and what was read."""

    y: np.ndarray
    x: np.ndarray
    columns: list[Column]
    watermark: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    reason_params: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def _labels(texts: Any) -> dict[str, str]:
    """A per-language text dict, without empty texts."""
    if not isinstance(texts, dict):
        return {}
    return {str(lang): str(text) for lang, text in texts.items() if text}


def _choice_labels(question: Question, choice: dict[str, Any]) -> dict[str, str]:
    """ "Question: option" per language (either part falls back to the other languages or key)."""
    q = _labels(question.label)
    c = _labels(choice.get("label"))
    languages = set(q) | set(c) or {"en"}
    return {
        lang: "{}: {}".format(
            q.get(lang) or next(iter(q.values()), question.key),
            c.get(lang) or next(iter(c.values()), str(choice.get("value"))),
        )
        for lang in languages
    }


def _responses(survey: Survey, filters: DriverFilters) -> QuerySet[Response]:
    qs = Response.objects.filter(survey=survey, completed_on__isnull=False, released=True)
    if filters.date_from is not None:
        qs = qs.filter(completed_on__gte=filters.date_from)
    if filters.date_to is not None:
        qs = qs.filter(completed_on__lte=filters.date_to)
    if filters.segment is not None:
        qs = qs.filter(segment=filters.segment)
    pair = filters.field_pair()
    if pair is not None:
        qs = qs.filter(**{f"data__{pair[0]}": pair[1]})
    return qs


def _anonymous_days(
    survey: Survey, filters: DriverFilters, k: int
) -> tuple[list[dt.date], str, dict[str, Any], dict[str, Any]]:
    """The first days of the published periods an anonymous analysis may read, or a reason."""
    periods = ReportingPeriod.objects.filter(survey=survey, published_at__isnull=False)
    if filters.date_from is not None:
        periods = periods.filter(starts_on__gte=filters.date_from)
    if filters.date_to is not None:
        periods = periods.filter(starts_on__lte=filters.date_to)
    found = list(periods.order_by("starts_on").values_list("starts_on", "published_at"))
    watermark = {
        "latest": max((p for _, p in found if p is not None), default=None),
        "periods": len(found),
    }
    if not found:
        return [], "no_published_period", {"k": k}, watermark
    days = [day for day, _ in found]
    if filters.field_pair() is not None:
        return _field_days(survey, filters, k, days, watermark)
    if filters.segment is None:
        return days, "", {}, watermark
    cells: dict[dt.date, dict[tuple[str, str, str], int]] = defaultdict(dict)
    rows = (
        Response.objects.filter(
            survey=survey, released=True, completed_on__in=days, completed_on__isnull=False
        )
        .values_list("completed_on", *privacy.PERSON_DIMENSIONS)
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, segment, channel, language, n in rows:
        cells[day][(segment, channel, language)] = n
    shown = [
        day
        for day in days
        if filters.segment in privacy.shown_values(cells.get(day, {}), k=k)["segment"]
    ]
    if not shown:
        return [], "segment_hidden", {"k": k}, watermark
    return shown, "", {}, watermark


def _field_days(
    survey: Survey,
    filters: DriverFilters,
    k: int,
    days: list[dt.date],
    watermark: dict[str, Any],
) -> tuple[list[dt.date], str, dict[str, Any], dict[str, Any]]:
    """The periods where an anonymous survey's hidden field value is a shown cell
    (metrics.field_slices); with a segment filter too, none (one slice at a time)."""
    pair = filters.field_pair()
    if pair is None or filters.segment is not None:
        return [], "segment_hidden", {"k": k}, watermark
    name, value = pair
    cells: dict[dt.date, dict[DataKey, int]] = defaultdict(dict)
    rows = (
        Response.objects.filter(
            survey=survey, released=True, completed_on__in=days, completed_on__isnull=False
        )
        .values_list("completed_on", *privacy.PERSON_DIMENSIONS, "data")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, segment, channel, language, data, n in rows:
        key = (segment, channel, language, data_items(data))
        cells[day][key] = cells[day].get(key, 0) + n
    shown = [
        day for day in days if value in shown_field_values(cells.get(day, {}), k=k, field=name)
    ]
    if not shown:
        return [], "segment_hidden", {"k": k}, watermark
    return shown, "", {}, watermark


def matrix_build(
    *, survey: Survey, outcome: Question, filters: DriverFilters, k: int, touchpoint_days: int
) -> Matrix:
    """The analysis rows of `survey` for `outcome` under `filters` (k: the audience's anonymity
    threshold, touchpoint_days: the look-back for touchpoints)."""
    empty = Matrix(y=np.empty(0), x=np.empty((0, 0)), columns=[])
    responses = _responses(survey, filters)
    days: list[dt.date] = []
    if survey.anonymous:
        days, reason, params, watermark = _anonymous_days(survey, filters, k)
        empty.watermark = {
            "latest": watermark["latest"].isoformat() if watermark["latest"] else None,
            "periods": watermark["periods"],
        }
        if reason:
            empty.reason, empty.reason_params = reason, params
            return empty
        responses = responses.filter(completed_on__in=days)
    else:
        source = responses.aggregate(latest=Max("completed_at"), responses=Count("id"))
        empty.watermark = {
            "latest": source["latest"].isoformat() if source["latest"] else None,
            "responses": source["responses"],
        }
    questions = [
        q
        for q in Question.objects.filter(survey=survey).order_by("order", "id")
        if q.pk == outcome.pk or q.type in SCORED_TYPES or q.type in CHOICE_TYPES
    ]
    columns: list[Column] = []
    score_col: dict[int, int] = {}
    choice_cols: dict[int, dict[str, int]] = {}
    for q in questions:
        if q.pk == outcome.pk:
            continue
        if q.type in SCORED_TYPES:
            score_col[q.pk] = len(columns)
            columns.append(
                Column(
                    driver=q.key,
                    labels=_labels(q.label),
                    kind="score",
                    scale=scale_of(q.type, q.scale_max),
                )
            )
        else:
            options: dict[str, int] = {}
            for choice in q.choices or []:
                if not isinstance(choice, dict) or "value" not in choice:
                    continue
                value = str(choice["value"])
                if value in options:
                    continue
                options[value] = len(columns)
                columns.append(
                    Column(
                        driver=f"{q.key}={value}",
                        labels=_choice_labels(q, choice),
                        kind="choice",
                    )
                )
            if options:
                choice_cols[q.pk] = options
    # Numbers: one row per response, pivoted in SQL (outcome, then each scored driver).
    pivot: dict[str, Any] = {"y": Max("number", filter=Q(question_id=outcome.pk))}
    for pk in score_col:
        pivot[f"q{pk}"] = Max("number", filter=Q(question_id=pk))
    if survey.anonymous:
        pivot["day"] = Max("response__completed_on")
    rows = list(
        Answer.objects.filter(
            question_id__in=[outcome.pk, *score_col],
            response__in=responses,
            number__isnull=False,
        )
        .values("response_id")
        .annotate(**pivot)
        .filter(y__isnull=False)  # type: ignore[misc]  # the annotation above
        .values_list("response_id", *pivot)
        .order_by("response_id")
    )
    if not rows:
        return empty
    n, p = len(rows), len(columns)
    days_of_rows = [r[-1] for r in rows] if survey.anonymous else []
    numbers = np.array([r[: 2 + len(score_col)] for r in rows], dtype=np.float64).reshape(
        n, 2 + len(score_col)
    )
    ids = numbers[:, 0].astype(np.int64)
    y = numbers[:, 1]
    x = np.full((n, p), np.nan)
    for j, col_index in enumerate(score_col.values()):
        x[:, col_index] = numbers[:, 2 + j]
    # Choices: a row that answered the question gets 0 for every option, 1 for its own.
    if choice_cols:
        rid, cols, vals = [], [], []
        single = {q.pk for q in questions if q.type == QuestionType.SINGLE_CHOICE}
        # The JSON as text, decoded only where needed: a single choice's value is in `text`.
        for response_id, question_id, text, raw in (
            Answer.objects.filter(
                question_id__in=list(choice_cols), response__in=responses, choices__isnull=False
            )
            .values_list("response_id", "question_id", "text", Cast("choices", TextField()))
            .order_by()
        ):
            if question_id in single and text:
                picked = {text}
            else:
                chosen = json.loads(raw) if raw else None
                if not isinstance(chosen, list) or not chosen:
                    continue
                picked = {str(v) for v in chosen}
            for value, col_index in choice_cols[question_id].items():
                rid.append(response_id)
                cols.append(col_index)
                vals.append(1.0 if value in picked else 0.0)
        if rid:
            found = np.array(rid, dtype=np.int64)
            pos = np.searchsorted(ids, found).clip(0, n - 1)
            hit = ids[pos] == found
            x[pos[hit], np.array(cols)[hit]] = np.array(vals)[hit]
    if survey.anonymous:
        y, x, ids = _anonymous_blocks(y, x, ids, days_of_rows, columns, k)
    else:
        touch_cols, tx = _touchpoints(survey, responses, ids, touchpoint_days)
        if touch_cols:
            columns = columns + touch_cols
            x = np.column_stack([x, tx])
    return Matrix(y=y, x=x, columns=columns, watermark=empty.watermark)


def _anonymous_blocks(
    y: np.ndarray,
    x: np.ndarray,
    ids: np.ndarray,
    days: list[dt.date],
    columns: list[Column],
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blocks under k show nothing: periods whose outcome holds fewer than k answers go, and a
    question answered by fewer than k in a period is unanswered there."""
    day = np.array([d.toordinal() for d in days])
    keep = np.zeros(len(y), dtype=bool)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, column in enumerate(columns):
        groups[column.driver.split("=", 1)[0]].append(index)
    for value in np.unique(day):
        rows = day == value
        if rows.sum() < k:
            continue
        keep |= rows
        for indexes in groups.values():
            answered = ~np.isnan(x[rows][:, indexes[0]])
            if answered.sum() < k:
                block = x[rows]
                block[:, indexes] = np.nan
                x[rows] = block
    return y[keep], x[keep], ids[keep]


def _touchpoints(
    survey: Survey, responses: QuerySet[Response], ids: np.ndarray, days: int
) -> tuple[list[Column], np.ndarray]:
    """0/1 per touchpoint of the survey's audience each respondent experienced in the `days`
    before completing: the audience's touchpoints, then one query joining the responses to
    their people's events at those touchpoints."""
    names = {
        pk: (slug, name)
        for pk, slug, name in Touchpoint.objects.filter(
            stage__journey__audience_id=survey.audience_id
        ).values_list("pk", "slug", "name")
    }
    if not names:
        return [], np.empty((len(ids), 0))
    pairs = list(
        responses.filter(person__isnull=False, completed_at__isnull=False)
        .filter(
            person__events__touchpoint_id__in=list(names),
            person__events__occurred_at__lte=F("completed_at"),
            person__events__occurred_at__gte=F("completed_at") - dt.timedelta(days=days),
        )
        .values_list("id", "person__events__touchpoint_id")
        .distinct()
        .order_by()
    )
    if not pairs:
        return [], np.empty((len(ids), 0))
    order = sorted({tp for _, tp in pairs}, key=lambda pk: names[pk][0])
    col_of = {pk: i for i, pk in enumerate(order)}
    tx = np.zeros((len(ids), len(order)))
    found = np.array(pairs, dtype=np.int64).reshape(len(pairs), 2)
    rid = found[:, 0]
    col = np.array([col_of[tp] for tp in found[:, 1].tolist()], dtype=np.int64)
    pos = np.searchsorted(ids, rid).clip(0, max(len(ids) - 1, 0))
    hit = ids[pos] == rid
    tx[pos[hit], col[hit]] = 1.0
    cols = [
        Column(
            driver=f"{TOUCHPOINT_PREFIX}{names[pk][0]}",
            labels={"": names[pk][1]},
            kind="touchpoint",
        )
        for pk in order
    ]
    return cols, tx
