"""Writes: daily rollups of scored answers, and the published value of each shown slice."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from metrics import definitions as d
from metrics.models import DailyRollup, PublishedScore, Verbatim
from surveys.models import SCORED_TYPES, Answer, QuestionType

ROLLUP_GROUP = (
    ("day", "response__completed_on"),
    ("audience_id", "response__audience_id"),
    ("survey_id", "response__survey_id"),
    ("question_id", "question_id"),
    ("question_type", "question__type"),
    ("scale_max", "question__scale_max"),
    ("touchpoint_id", "response__touchpoint_id"),
    ("segment", "response__segment"),
    ("channel", "response__channel"),
    ("language", "response__language"),
)
ROLLUP_SUMS = ("n", "total", "sumsq", "promoters", "passives", "detractors", "top2")


@transaction.atomic
def rollups_rebuild(*, date_from: dt.date, date_to: dt.date) -> int:
    """Recompute the rollups of every day in [date_from, date_to]; returns rows written.

    Idempotent and safe to re-run for any days: the range's rows are deleted and re-inserted
    with one INSERT … SELECT inside one transaction, so readers see the old or the new day,
    never half of it. Answers of responses not completed are not counted. The days' free-text
    answers are filed as verbatims the same way (see `Verbatim`).
    """
    from metrics.selectors import _raw_aggregates

    _verbatims_rebuild(date_from=date_from, date_to=date_to)
    DailyRollup.objects.filter(day__gte=date_from, day__lte=date_to).delete()
    source = (
        Answer.objects.filter(
            response__completed_on__gte=date_from,
            response__completed_on__lte=date_to,
            number__isnull=False,
            question__type__in=list(SCORED_TYPES),
        )
        .values(*(path for _, path in ROLLUP_GROUP))
        .annotate(**_raw_aggregates())
        .order_by()
    )
    return _insert_select(DailyRollup, [*(name for name, _ in ROLLUP_GROUP), *ROLLUP_SUMS], source)


VERBATIM_COLUMNS = (
    ("day", "response__completed_on"),
    ("audience_id", "response__audience_id"),
    ("survey_id", "response__survey_id"),
    ("touchpoint_id", "response__touchpoint_id"),
    ("segment", "response__segment"),
    ("answer_id", "id"),
)


def _verbatims_rebuild(*, date_from: dt.date, date_to: dt.date) -> None:
    """Re-file the non-empty free-text answers of responses completed in the range."""
    Verbatim.objects.filter(day__gte=date_from, day__lte=date_to).delete()
    source = (
        Answer.objects.filter(
            response__completed_on__gte=date_from,
            response__completed_on__lte=date_to,
            question__type=QuestionType.TEXT,
        )
        .exclude(text="")
        .values(*(path for _, path in VERBATIM_COLUMNS))
        .order_by()
    )
    _insert_select(Verbatim, [name for name, _ in VERBATIM_COLUMNS], source)


def _insert_select(model: Any, names: list[str], source: Any) -> int:
    """INSERT INTO model's table (names' columns) the rows of the `source` values() query."""
    select_sql, params = source.query.sql_with_params()
    column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column_of[name]) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({columns}) {select_sql}",  # noqa: S608
            params,
        )
        return cursor.rowcount


def rollup_day(*, day: dt.date) -> int:
    """Recompute one day's rollups (see rollups_rebuild)."""
    return rollups_rebuild(date_from=day, date_to=day)


def rollup_recent(*, days: int = 2) -> int:
    """Recompute the last `days` days up to tomorrow (UTC).

    Responses are filed under the day they were completed; tomorrow is included because a
    respondent east of UTC may already be there.
    """
    today = timezone.now().date()
    return rollups_rebuild(
        date_from=today - dt.timedelta(days=days - 1), date_to=today + dt.timedelta(days=1)
    )


@dataclass
class Shown:
    """One score about to be shown: its slice key, audience and row (changed in place)."""

    key: str
    audience_id: int
    threshold: int
    row: dict[str, Any]
    final: bool = False


@transaction.atomic
def published_scores_stabilise(*, shown: list[Shown]) -> None:
    """Hold each shown score at its last published value unless n moved by the threshold.

    Watching a small slice over time must not reveal one person's answer, so a score shown
    once stays put until its n differs by at least the audience's anonymity threshold from
    the n it was published with (or the slice is final: its survey closed); then the new
    value is published. Suppressed rows are left alone. At most three queries: read the
    keys, insert new ones, update moved ones.
    """
    entries = {
        s.key: s for s in shown if not s.row.get("suppressed") and s.row.get("score") is not None
    }
    if not entries:
        return
    known = {p.key: p for p in PublishedScore.objects.filter(key__in=list(entries))}
    fresh: list[PublishedScore] = []
    moved: list[PublishedScore] = []
    now = timezone.now()
    for key, entry in entries.items():
        row = entry.row
        published = known.get(key)
        if published is None:
            fresh.append(
                PublishedScore(
                    key=key,
                    audience_id=entry.audience_id,
                    value=row["score"],
                    margin=row["margin"],
                    n=row["n"],
                )
            )
        elif entry.final or abs(row["n"] - published.n) >= entry.threshold:
            published.value, published.margin, published.n = row["score"], row["margin"], row["n"]
            published.published_at = now
            moved.append(published)
        else:
            row["score"], row["margin"], row["n"] = published.value, published.margin, published.n
    if fresh:
        PublishedScore.objects.bulk_create(fresh, ignore_conflicts=True)
    if moved:
        PublishedScore.objects.bulk_update(moved, ["value", "margin", "n", "published_at"])


def score_of_row(row: dict[str, Any]) -> d.Score:
    """A Score from a scores() row (for templates and comparisons)."""
    if row.get("suppressed"):
        return d.Score(value=None, n=row.get("n", 0), suppressed=True)
    return d.Score(value=row["score"], n=row["n"], margin=row["margin"])
