"""Writes: daily rollups of scored answers (with the verbatims and answer outcomes filed beside
them), and the published value of each shown slice."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from journeys.models import TouchpointEvent
from metrics import definitions as d
from metrics.models import (
    AnswerOutcome,
    DailyOutcome,
    DailyRollup,
    EventDay,
    OperationsSnapshot,
    PublishedScore,
    Verbatim,
)
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
    answers are filed as verbatims, and their NPS answers of known people with what followed,
    the same way (see `Verbatim`, `AnswerOutcome` and `DailyOutcome`).
    """
    from metrics.selectors import _raw_aggregates, day_start

    _verbatims_rebuild(date_from=date_from, date_to=date_to)
    _outcomes_rebuild(date_from=date_from, date_to=date_to)
    _event_days_rebuild(
        days=Q(day__gte=date_from, day__lte=date_to),
        events=Q(
            occurred_at__gte=day_start(date_from),
            occurred_at__lt=day_start(date_to + dt.timedelta(days=1)),
        ),
    )
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
        .order_by("response__completed_on")  # a day's rows sit together on disk
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
        .order_by("response__completed_on")
    )
    _insert_select(Verbatim, [name for name, _ in VERBATIM_COLUMNS], source)


OUTCOME_COLUMNS = (
    ("day", "response__completed_on"),
    ("audience_id", "response__audience_id"),
    ("survey_id", "response__survey_id"),
    ("touchpoint_id", "response__touchpoint_id"),
    ("segment", "response__segment"),
    ("person_id", "response__person_id"),
    ("answer_id", "id"),
    ("completed_at", "response__completed_at"),
    ("number", "number"),
)


def _outcomes_rebuild(*, date_from: dt.date, date_to: dt.date) -> None:
    """Re-file the NPS answers of known people completed in the range with their outcomes."""
    from metrics.selectors import Filters, nps_answers_named, outcomes_after

    AnswerOutcome.objects.filter(day__gte=date_from, day__lte=date_to).delete()
    outcomes = outcomes_after(
        person="response__person_id",
        audience="response__audience_id",
        after="response__completed_at",
    )
    source = (
        nps_answers_named(filters=Filters(date_from=date_from, date_to=date_to))
        .annotate(**outcomes)
        # Fields first, then the annotations in their order: the SELECT's column order.
        .values(*(path for _, path in OUTCOME_COLUMNS), *outcomes)
        .order_by("response__completed_on")
    )
    _insert_select(AnswerOutcome, [*(name for name, _ in OUTCOME_COLUMNS), *outcomes], source)
    _daily_outcomes_rebuild(days=Q(day__gte=date_from, day__lte=date_to))


OUTCOME_GROUP = ("day", "audience_id", "survey_id", "segment", "category")


def _daily_outcomes_rebuild(*, days: Q) -> None:
    """Re-sum the answer outcomes of the audience-days that `days` picks (on either model)."""
    from metrics.selectors import nps_category

    DailyOutcome.objects.filter(days).delete()
    source = (
        AnswerOutcome.objects.filter(days)
        .annotate(category=nps_category())
        .values(*OUTCOME_GROUP)
        .annotate(
            n=Count("id"),
            lost=Count("id", filter=Q(churned=True)),
            spend_sum=Sum("spend"),
        )
        .order_by("day")
    )
    _insert_select(DailyOutcome, [*OUTCOME_GROUP, "n", "lost", "spend"], source)


@transaction.atomic
def late_events_refresh(*, since: dt.datetime) -> int:
    """Follow the touchpoint events recorded since then; returns the answer outcomes redone.

    Events arrive after the answers they follow (a purchase weeks later) and may be recorded
    long after they happened, so the days being rebuilt do not cover them: the days they
    happened on are summed again, and the answer outcomes of their people recomputed (with
    the daily outcomes of the days those people answered). Idempotent.
    """
    from metrics.selectors import outcomes_after

    # The days the late events happened on are summed again for the operational metrics.
    late_days = list(
        TouchpointEvent.objects.filter(recorded_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .values_list("day", flat=True)
        .distinct()
        .order_by()
    )
    if late_days:
        _event_days_rebuild(days=Q(day__in=late_days), events=Q(occurred_at__date__in=late_days))
    people = TouchpointEvent.objects.filter(recorded_at__gte=since).values("person_id")
    changed = AnswerOutcome.objects.filter(person_id__in=people).update(
        **outcomes_after(person="person_id", audience="audience_id", after="completed_at")
    )
    if changed:
        # The audience-days these people answered on are summed again.
        touched = AnswerOutcome.objects.filter(
            person_id__in=people, audience_id=OuterRef("audience_id"), day=OuterRef("day")
        )
        _daily_outcomes_rebuild(days=Q(Exists(touched)))
    return changed


EVENT_DAY_COLUMNS = (
    ("audience_id", "touchpoint__stage__journey__audience_id"),
    ("role", "touchpoint__role"),
    ("person_id", "person_id"),
)


def _event_days_rebuild(*, days: Q, events: Q) -> None:
    """Re-sum the role-tagged events of some days per person: `days` picks the EventDay rows
    to replace and `events` the events of the same days."""
    from metrics.selectors import event_sums

    EventDay.objects.filter(days).delete()
    sums = event_sums()
    source = (
        TouchpointEvent.objects.filter(events)
        .exclude(touchpoint__role="")
        .annotate(day=TruncDate("occurred_at"))
        .values(*(path for _, path in EVENT_DAY_COLUMNS), "day")
        .annotate(**sums)
        .order_by("day")
    )
    _insert_select(EventDay, [*(name for name, _ in EVENT_DAY_COLUMNS), "day", *sums], source)


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
    """Recompute the last `days` days up to tomorrow (UTC), and the outcomes of late events.

    Responses are filed under the day they were completed; tomorrow is included because a
    respondent east of UTC may already be there. The events recorded in those days are
    followed too, whatever day they happened or their people answered on, and the
    dashboard's operations snapshots are computed again.
    """
    today = timezone.now().date()
    since = today - dt.timedelta(days=days - 1)
    written = rollups_rebuild(date_from=since, date_to=today + dt.timedelta(days=1))
    late_events_refresh(since=dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC))
    operations_snapshots_refresh(today=today)
    return written


# The audience page's periods (days up to today) whose operational metrics are kept ready.
DASHBOARD_PERIOD_DAYS = (30, 90, 365)


@transaction.atomic
def operations_snapshots_refresh(*, today: dt.date) -> int:
    """Compute the customer audiences' operational metrics over the dashboard's periods.

    Replaces the snapshots ending `today` and drops older ones; idempotent. One snapshot per
    audience and period (customer audiences are few).
    """
    from audiences.models import Audience, AudienceKind
    from metrics.selectors import operational_metrics

    OperationsSnapshot.objects.filter(date_to__lt=today).delete()
    written = 0
    for audience in Audience.objects.filter(kind=AudienceKind.CUSTOMER):
        for days in DASHBOARD_PERIOD_DAYS:
            date_from = today - dt.timedelta(days=days - 1)
            values = operational_metrics(
                audience=audience, date_from=date_from, date_to=today, source="rollup"
            )
            OperationsSnapshot.objects.update_or_create(
                audience=audience, date_from=date_from, date_to=today, defaults={"values": values}
            )
            written += 1
    return written


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
