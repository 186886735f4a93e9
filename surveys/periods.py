"""Reporting periods of anonymous surveys: which period a response belongs to, and its release.

An anonymous response keeps no time finer than its reporting period: it is stored on the
period's first day (`completed_on = period.starts_on`, no `completed_at` or `started_at`), and
its invitation says it was answered at midnight UTC of that day. No figure of its answers is
shown until its period is published (ended and released): metrics.privacy counts published
periods only, totals included, so nothing seen while a period is open can be subtracted from
what is seen after it ends. While the period is open its responses are released in batches of
at least k (the audience's `anonymity_threshold`, never below 3): only a count of responses
(the summary page's "so far") follows them, in steps of at least k.

Which period (`Survey.reporting_period`):
- week (Monday to Sunday), month (calendar), quarter (calendar): the one holding the day;
- wave: the latest run of the survey's wave rule opens a period on the day it ran, which ends
  when the wave's invitations expire (run day + the rule's `expiry_days` - 1) or the day
  before the next wave starts, whichever comes first (a new period shortens an open earlier
  one: periods never overlap). Before any run, and between the end of one wave's period and
  the next run (a late answer, a public link), the calendar month applies, starting no
  earlier than the day after the previous period ended;
- auto (the default): wave when the survey has a wave distribution rule, else month.
A period keeps its bounds once created, but for one thing: a period that starts later cuts
short the open one it starts within (a wave run mid-month, a switch to a shorter kind), so a
day belongs to one period only. A switch to a longer kind takes effect when the current period
ends.

Release (`periods_release`, run every few minutes by the metrics task that then rebuilds the
rollups of the periods it returns): for each unpublished period, when at least k completed
responses wait, all of them are released at once (`released=True`), and `period.released`
counts the period's released responses. Once the period has ended (today > ends_on), all that
waits is released if the period holds at least k responses in all (released + waiting: nothing
of it was shown while it was open, so its last batch needs no k of its own); a period under k
in all is never shown. Then `published_at` is set: the period is frozen. A response that
arrives for a period already published (a submit straddling midnight, a clock moved back) is
never released. Named responses are released when they complete and have nothing to do with
periods.
"""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    PositiveIntegerField,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from surveys.models import (
    DistributionRule,
    ReportingPeriod,
    ReportingPeriodKind,
    Response,
    RuleKind,
    Survey,
)

DAY = datetime.timedelta(days=1)
MIN_THRESHOLD = 3

CALENDAR_KINDS = (ReportingPeriodKind.WEEK, ReportingPeriodKind.MONTH, ReportingPeriodKind.QUARTER)


def anonymity_threshold(threshold: int) -> int:
    """k: the audience's anonymity threshold, never below MIN_THRESHOLD."""
    return max(MIN_THRESHOLD, threshold)


def period_bounds(*, kind: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the calendar period of `kind` (week, month, quarter) holding
    `day`; weeks run Monday to Sunday."""
    if kind == ReportingPeriodKind.WEEK:
        start = day - day.weekday() * DAY
        return start, start + 6 * DAY
    if kind == ReportingPeriodKind.MONTH:
        first_month = day.month
    elif kind == ReportingPeriodKind.QUARTER:
        first_month = day.month - (day.month - 1) % 3
    else:
        raise ValueError(f"not a calendar period kind: {kind!r}")
    start = day.replace(month=first_month, day=1)
    last_month = first_month + (2 if kind == ReportingPeriodKind.QUARTER else 0)
    if last_month == 12:
        after = datetime.date(day.year + 1, 1, 1)
    else:
        after = datetime.date(day.year, last_month + 1, 1)
    return start, after - DAY


def _latest_wave_run(survey: Survey) -> tuple[datetime.datetime, int] | None:
    """When the survey's latest wave run was, and that rule's expiry_days (one query)."""
    return (
        DistributionRule.objects.filter(
            survey_id=survey.pk, kind=RuleKind.WAVE, last_run_at__isnull=False
        )
        .order_by("-last_run_at", "-pk")
        .values_list("last_run_at", "expiry_days")
        .first()
    )


def _bounds(survey: Survey, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The period `today` would open for `survey`, before looking at the periods it has."""
    kind = survey.reporting_period
    if kind in CALENDAR_KINDS:
        return period_bounds(kind=kind, day=today)
    # Automatic or wave: a wave rule that never ran (or none at all) leaves the month.
    run = _latest_wave_run(survey)
    if run is not None:
        start = timezone.localdate(run[0])
        end = start + (max(run[1], 1) - 1) * DAY
        # A past day before the latest run: the rule keeps no earlier runs, the month applies.
        if start <= today <= end:
            return start, end
    return period_bounds(kind=ReportingPeriodKind.MONTH, day=today)


def period_for(*, survey: Survey, today: datetime.date) -> ReportingPeriod:
    """The period of `survey` a response completed on `today` belongs to, created if needed.

    Two queries when it exists (the survey's wave rule, for the automatic and wave kinds; its
    latest period). Concurrent calls create one row: the unique (survey, starts_on) decides,
    and the loser reads the winner's row.
    """
    start, end = _bounds(survey, today)
    latest = (
        ReportingPeriod.objects.filter(survey_id=survey.pk, starts_on__lte=today)
        .order_by("-starts_on")
        .first()
    )
    if latest is not None:
        if latest.ends_on >= today and latest.starts_on >= start:
            return latest  # the current period (a wave's, opened since the month began)
        if latest.ends_on < today:
            start = max(start, latest.ends_on + DAY)  # a day belongs to one period only
    try:
        with transaction.atomic():
            period = ReportingPeriod.objects.create(
                survey_id=survey.pk, starts_on=start, ends_on=end
            )
    except IntegrityError:
        return ReportingPeriod.objects.get(survey_id=survey.pk, starts_on=start)
    # A new wave cuts short the open period it starts within (the month before the first run).
    ReportingPeriod.objects.filter(
        survey_id=survey.pk, starts_on__lt=start, ends_on__gte=start, published_at__isnull=True
    ).update(ends_on=start - DAY)
    return period


def period_start_moment(day: datetime.date) -> datetime.datetime:
    """Midnight UTC of `day`: the only moment kept of when an anonymous respondent answered."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def _per_period(*, released: bool) -> Coalesce:
    """How many completed responses of the outer period are (un)released, as a subquery."""
    rows = (
        Response.objects.filter(
            survey_id=OuterRef("survey_id"), completed_on=OuterRef("starts_on"), released=released
        )
        .order_by()
        .values("survey_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows), Value(0))


@transaction.atomic
def periods_release(*, now: datetime.datetime) -> list[tuple[int, datetime.date]]:
    """Release the waiting responses of every open period in batches of at least k, and
    publish the periods that ended with all they hold (when that is at least k in all);
    returns the (survey_id, starts_on) of the periods whose released responses changed or
    that were published, for the rollups to rebuild.

    Four queries whatever the number of periods and responses: lock the open periods (one run
    at a time: a second one waits, then counts afresh, so two runs never split a batch),
    count what waits and what was released in each, release (one UPDATE), then record the
    counts and publications (one UPDATE).
    """
    today = timezone.localdate(now)
    open_periods = ReportingPeriod.objects.filter(published_at__isnull=True, survey__anonymous=True)
    locked = list(
        open_periods.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True)
    )
    if not locked:
        return []
    # Counted after the lock is held: this statement sees what the previous run committed.
    rows = (
        ReportingPeriod.objects.filter(pk__in=locked)
        .annotate(
            waiting=_per_period(released=False),
            already=_per_period(released=True),
            k=F("survey__audience__anonymity_threshold"),
        )
        .order_by("pk")
        .values_list("pk", "survey_id", "starts_on", "ends_on", "waiting", "already", "k")
    )
    release, publish, changed = [], [], []
    for pk, survey_id, starts_on, ends_on, waiting, already, k in rows:
        k = anonymity_threshold(k)
        ended = today > ends_on
        # Open: a batch of k. Ended: everything, when the period holds k in all.
        due = waiting >= k or (ended and waiting > 0 and already + waiting >= k)
        if due:
            release.append(pk)
        if ended:
            publish.append(pk)
        if due or ended:
            changed.append((survey_id, starts_on))
    if release:
        batch = ReportingPeriod.objects.filter(
            pk__in=release, survey_id=OuterRef("survey_id"), starts_on=OuterRef("completed_on")
        )
        Response.objects.filter(released=False).filter(Exists(batch)).update(released=True)
    if changed:
        ReportingPeriod.objects.filter(pk__in=release + publish).update(
            released=Case(
                When(pk__in=release, then=_per_period(released=True)),
                default=F("released"),
                output_field=PositiveIntegerField(),
            ),
            published_at=Case(When(pk__in=publish, then=Value(now)), default=F("published_at")),
        )
    return sorted(changed)
