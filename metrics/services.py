"""Writes: daily rollups of scored answers (with the verbatims and answer outcomes filed beside
them), how far they are complete, and the release of anonymous responses' batches."""

import datetime as dt
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Sum, When
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
    RollupState,
    Verbatim,
)
from surveys.models import SCORED_TYPES, Answer, QuestionType
from xmplatform.core.time import local_day_start

# (rollup column, path from Answer): the columns a day's rows are grouped by.
ROLLUP_GROUP = (
    ("day", "response__completed_on"),
    ("audience_id", "response__audience_id"),
    ("survey_id", "response__survey_id"),
    ("question_id", "question_id"),
    ("question_type", "question__type"),
    ("scale_max", "question__scale_max"),
    ("segment", "response__segment"),
    ("channel", "response__channel"),
    ("language", "response__language"),
)
ROLLUP_SUMS = ("n", "total", "sumsq", "promoters", "passives", "detractors", "top2")
# A response completed up to this long before midnight may commit after it: a day counts as
# complete in the rollups when it was rolled up at least this long after it ended.
ROLLUP_GRACE = dt.timedelta(minutes=5)
# The most days one periodic run rolls up when it catches up on days it missed.
CATCH_UP_DAYS = 31


def _survey_columns() -> dict[str, Any]:
    """The touchpoint and anonymity columns, computed from the response's survey.

    An anonymous survey's rows carry the survey's touchpoint, never the one of the event that
    triggered the invitation: touchpoint, stage and journey are then constant per survey.
    """
    anonymous = Q(response__survey__anonymous=True)
    return {
        "rolled_touchpoint": Case(
            When(anonymous, then=F("response__survey__touchpoint_id")),
            default=F("response__touchpoint_id"),
        ),
        "rolled_anonymous": F("response__survey__anonymous"),
    }


SURVEY_COLUMNS = ("touchpoint_id", "anonymous")  # the columns _survey_columns() fills, in order


def _state_locked() -> RollupState:
    """The rollup state's row, locked until the transaction ends: rebuilds run one at a time
    (two that delete and re-insert the same day at once would each insert it)."""
    state = RollupState.objects.select_for_update().filter(pk=1).first()
    if state is None:
        try:
            with transaction.atomic():
                RollupState.objects.create(pk=1)
        except IntegrityError:
            pass  # another rebuild created it meanwhile
        state = RollupState.objects.select_for_update().get(pk=1)
    return state


@transaction.atomic
def rollups_rebuild(*, date_from: dt.date, date_to: dt.date) -> int:
    """Recompute the rollups of every day in [date_from, date_to]; returns rows written.

    Idempotent and safe to re-run for any days: the range's rows are deleted and re-inserted
    with one INSERT … SELECT inside one transaction, so readers see the old or the new day,
    never half of it. Only completed, released responses are counted. The days' free-text
    answers are filed as verbatims, and their NPS answers of known people with what followed,
    the same way (see `Verbatim`, `AnswerOutcome` and `DailyOutcome`). Days that had ended
    before this run (with `ROLLUP_GRACE`) and join the complete days move the watermark
    (`RollupState.complete_through`) on: reads take those days from the rollups.
    """
    started = timezone.now()
    state = _state_locked()
    days = Q(day__gte=date_from, day__lte=date_to)
    answers = Q(response__completed_on__gte=date_from, response__completed_on__lte=date_to)
    _verbatims_rebuild(days=days, answers=answers)
    _outcomes_rebuild(date_from=date_from, date_to=date_to)
    _event_days_rebuild(
        days=days,
        events=Q(
            occurred_at__gte=local_day_start(date_from),
            occurred_at__lt=local_day_start(date_to + dt.timedelta(days=1)),
        ),
    )
    written = _rollups_insert(days=days, answers=answers)
    _watermark_advance(state, date_from=date_from, date_to=date_to, started=started)
    return written


def _rollups_insert(*, days: Q, answers: Q) -> int:
    """Replace the rollup rows `days` picks with those of the answers `answers` picks."""
    from metrics.selectors import raw_aggregates

    DailyRollup.objects.filter(days).delete()
    source = (
        Answer.objects.filter(
            answers,
            response__completed_on__isnull=False,
            response__released=True,
            number__isnull=False,
            question__type__in=list(SCORED_TYPES),
        )
        # Fields first, then the computed columns, then the sums: the SELECT's column order.
        .values(*(path for _, path in ROLLUP_GROUP), **_survey_columns())
        .annotate(**raw_aggregates())
        .order_by("response__completed_on")  # a day's rows sit together on disk
    )
    names = [*(name for name, _ in ROLLUP_GROUP), *SURVEY_COLUMNS, *ROLLUP_SUMS]
    return _insert_select(DailyRollup, names, source)


def _watermark_advance(
    state: RollupState, *, date_from: dt.date, date_to: dt.date, started: dt.datetime
) -> None:
    """Move `complete_through` on over the days this rebuild completed, if they join it."""
    ended = timezone.localdate(started - ROLLUP_GRACE) - dt.timedelta(days=1)
    through = min(date_to, ended)
    current = state.complete_through
    joins = current is None or date_from <= current + dt.timedelta(days=1)
    if through >= date_from and joins and (current is None or through > current):
        state.complete_through = through
    state.rolled_at = started
    state.save(update_fields=["complete_through", "rolled_at"])


VERBATIM_COLUMNS = (
    ("day", "response__completed_on"),
    ("audience_id", "response__audience_id"),
    ("survey_id", "response__survey_id"),
    ("segment", "response__segment"),
    ("answer_id", "id"),
)


def _verbatims_rebuild(*, days: Q, answers: Q) -> None:
    """Re-file the non-empty free-text answers of completed, released responses."""
    Verbatim.objects.filter(days).delete()
    source = (
        Answer.objects.filter(
            answers,
            response__completed_on__isnull=False,
            response__released=True,
            question__type=QuestionType.TEXT,
        )
        .exclude(text="")
        .values(*(path for _, path in VERBATIM_COLUMNS), **_survey_columns())
        .order_by("response__completed_on")
    )
    _insert_select(Verbatim, [*(name for name, _ in VERBATIM_COLUMNS), *SURVEY_COLUMNS], source)


@transaction.atomic
def survey_days_rebuild(*, pairs: list[tuple[int, dt.date]]) -> int:
    """Recompute the rollups and verbatims of some surveys' days (survey id, day); returns the
    rollup rows written. What a release changes: one anonymous period's first day."""
    if not pairs:
        return 0
    _state_locked()
    return _survey_days_insert(pairs)


def _survey_days_insert(pairs: list[tuple[int, dt.date]]) -> int:
    days, answers = Q(pk__in=[]), Q(pk__in=[])
    for survey_id, day in pairs:
        days |= Q(survey_id=survey_id, day=day)
        answers |= Q(response__survey_id=survey_id, response__completed_on=day)
    _verbatims_rebuild(days=days, answers=answers)
    return _rollups_insert(days=days, answers=answers)


@transaction.atomic
def anonymous_periods_release(*, now: dt.datetime) -> list[tuple[int, dt.date]]:
    """Release the anonymous responses whose batches are due (surveys.periods) and roll up the
    periods that changed, in one transaction: a failed rebuild releases nothing. Returns the
    (survey id, period start) pairs rebuilt."""
    from surveys.periods import periods_release

    _state_locked()
    changed = periods_release(now=now)
    if changed:
        _survey_days_insert(changed)
    return changed


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
            spend_squares=Sum(F("spend") * F("spend")),
            referred_n=Count("id", filter=Q(referred=True)),
        )
        .order_by("day")
    )
    names = [*OUTCOME_GROUP, "n", "lost", "spend", "spend_sumsq", "referred"]
    _insert_select(DailyOutcome, names, source)


@transaction.atomic
def late_events_refresh(*, since: dt.datetime) -> int:
    """Follow the touchpoint events recorded since then; returns the answer outcomes redone.

    Events arrive after the answers they follow (a purchase weeks later) and may be recorded
    long after they happened, so the days being rebuilt do not cover them: the days they
    happened on are summed again, and the answer outcomes of their people recomputed (with
    the daily outcomes of the days those people answered). Idempotent. Takes the rollup
    state's lock first, like every rebuild: two runs at once (two beats) would each delete the
    same rows and insert their own.
    """
    from metrics.selectors import outcomes_after

    _state_locked()
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
    """Recompute the last `days` days up to tomorrow, and the outcomes of late events.

    Responses are filed under the day they were completed; tomorrow is included because a
    respondent east of UTC may already be there. Days missed since the watermark (the task
    did not run) are caught up first, at most CATCH_UP_DAYS per run. The events recorded in
    those days are followed too, whatever day they happened or their people answered on, and
    the dashboard's operations snapshots are computed again.
    """
    today = timezone.localdate()
    since = today - dt.timedelta(days=days - 1)
    until = today + dt.timedelta(days=1)
    through = RollupState.objects.filter(pk=1).values_list("complete_through", flat=True).first()
    if through is not None and through + dt.timedelta(days=1) < since:
        since = through + dt.timedelta(days=1)
        until = min(until, since + dt.timedelta(days=CATCH_UP_DAYS - 1))
    written = rollups_rebuild(date_from=since, date_to=until)
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


def score_of_row(row: dict[str, Any]) -> d.Score:
    """A Score from a scores() row (for templates and comparisons)."""
    if row.get("suppressed"):
        return d.Score(value=None, n=row.get("n", 0), suppressed=True)
    return d.Score(value=row["score"], n=row["n"], margin=row["margin"])
