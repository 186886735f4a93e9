"""Reporting periods of anonymous surveys: which period a response belongs to, and its release
in batches of at least k (surveys.periods). How a response is stored in its period:
test_responses_anonymous.py."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from audiences.models import Channel
from surveys import services
from surveys.models import (
    ReportingPeriod,
    ReportingPeriodKind,
    Response,
    Survey,
)
from surveys.periods import period_bounds, period_for, periods_release
from tests.factories import make_audience
from tests.surveys.distribution_factories import make_rule
from tests.surveys.test_hosted_support import (
    make_survey,
    plain_static_files,  # noqa: F401 - autouse fixture
)

pytestmark = pytest.mark.django_db

D = dt.date
DAY = dt.timedelta(days=1)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def survey() -> Survey:
    """An anonymous survey of an audience whose anonymity threshold k is 5."""
    return make_survey(anonymous=True, audience=make_audience(anonymity_threshold=5))


def waiting(survey: Survey, day: dt.date, n: int, **extra) -> list[Response]:  # noqa: ANN003
    """`n` completed anonymous responses stored on `day`, unreleased, as the submit stores them."""
    rows = [
        Response(
            pk=services.anonymous_response_id(),
            survey=survey,
            audience_id=survey.audience_id,
            channel=Channel.EMAIL,
            language="tr",
            completed_on=day,
            released=False,
            **extra,
        )
        for _ in range(n)
    ]
    return Response.objects.bulk_create(rows)


def released(survey: Survey) -> int:
    return Response.objects.filter(survey=survey, released=True).count()


# --- Bounds --------------------------------------------------------------------------------


def test_a_week_runs_from_monday_to_sunday():
    assert period_bounds(kind="week", day=D(2026, 12, 9)) == (D(2026, 12, 7), D(2026, 12, 13))
    assert period_bounds(kind="week", day=D(2026, 12, 13)) == (D(2026, 12, 7), D(2026, 12, 13))
    assert period_bounds(kind="week", day=D(2026, 12, 31)) == (D(2026, 12, 28), D(2027, 1, 3))


def test_months_and_quarters_end_on_their_last_day():
    assert period_bounds(kind="month", day=D(2028, 2, 14)) == (D(2028, 2, 1), D(2028, 2, 29))
    assert period_bounds(kind="month", day=D(2026, 12, 31)) == (D(2026, 12, 1), D(2026, 12, 31))
    assert period_bounds(kind="quarter", day=D(2026, 11, 5)) == (D(2026, 10, 1), D(2026, 12, 31))
    assert period_bounds(kind="quarter", day=D(2026, 1, 1)) == (D(2026, 1, 1), D(2026, 3, 31))
    assert period_bounds(kind="quarter", day=D(2026, 6, 30)) == (D(2026, 4, 1), D(2026, 6, 30))


def test_bounds_of_a_kind_that_is_not_a_calendar_period_are_refused():
    with pytest.raises(ValueError, match="not a calendar period kind: 'wave'"):
        period_bounds(kind="wave", day=D(2026, 12, 9))


# --- The period of a day -------------------------------------------------------------------


def test_without_a_wave_rule_a_response_belongs_to_its_calendar_month(
    survey, django_assert_num_queries
):
    first = period_for(survey=survey, today=D(2026, 12, 9))

    # 1 the survey's wave rule (none: the month)  2 its latest period, the current one
    with django_assert_num_queries(2):
        again = period_for(survey=survey, today=D(2026, 12, 31))

    assert (first.starts_on, first.ends_on, first.released, first.published_at) == (
        D(2026, 12, 1),
        D(2026, 12, 31),
        0,
        None,
    )
    assert again == first
    assert period_for(survey=survey, today=D(2027, 1, 1)).starts_on == D(2027, 1, 1)
    assert ReportingPeriod.objects.filter(survey=survey).count() == 2


def test_a_survey_reported_by_week_or_quarter_takes_that_calendar_period(
    survey, django_assert_num_queries
):
    survey.reporting_period = ReportingPeriodKind.QUARTER
    period = period_for(survey=survey, today=D(2026, 11, 5))

    # Its latest period only: the kind needs no look at the wave rules.
    with django_assert_num_queries(1):
        assert period_for(survey=survey, today=D(2026, 12, 20)) == period
    survey.reporting_period = ReportingPeriodKind.WEEK
    week = period_for(survey=survey, today=D(2027, 1, 6))

    assert (period.starts_on, period.ends_on) == (D(2026, 10, 1), D(2026, 12, 31))
    assert (week.starts_on, week.ends_on) == (D(2027, 1, 4), D(2027, 1, 10))


def test_a_wave_period_runs_from_its_run_day_until_its_invitations_expire(survey):
    before = period_for(survey=survey, today=D(2026, 12, 2))  # the month, before the first run
    make_rule(
        survey, expiry_days=14, runs=1, last_run_at=dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    )

    wave = period_for(survey=survey, today=D(2026, 12, 5))

    assert (wave.starts_on, wave.ends_on) == (D(2026, 12, 3), D(2026, 12, 16))
    assert period_for(survey=survey, today=D(2026, 12, 16)) == wave
    # The month it started within is cut short: a day belongs to one period.
    before.refresh_from_db()
    assert (before.starts_on, before.ends_on) == (D(2026, 12, 1), D(2026, 12, 2))


def test_an_answer_after_the_wave_ended_opens_the_rest_of_the_month(survey):
    make_rule(
        survey, expiry_days=14, runs=1, last_run_at=dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    )
    period_for(survey=survey, today=D(2026, 12, 3))

    late = period_for(survey=survey, today=D(2026, 12, 20))

    assert (late.starts_on, late.ends_on) == (D(2026, 12, 17), D(2026, 12, 31))
    assert period_for(survey=survey, today=D(2027, 1, 4)).starts_on == D(2027, 1, 1)


def test_the_next_wave_ends_the_previous_ones_period_the_day_before(survey):
    rule = make_rule(
        survey, expiry_days=30, runs=1, last_run_at=dt.datetime(2026, 12, 3, 9, tzinfo=dt.UTC)
    )
    first = period_for(survey=survey, today=D(2026, 12, 4))
    rule.last_run_at, rule.runs = dt.datetime(2026, 12, 17, 9, tzinfo=dt.UTC), 2
    rule.save()

    second = period_for(survey=survey, today=D(2026, 12, 18))

    first.refresh_from_db()
    assert (first.starts_on, first.ends_on) == (D(2026, 12, 3), D(2026, 12, 16))
    assert (second.starts_on, second.ends_on) == (D(2026, 12, 17), D(2027, 1, 15))


def test_a_wave_rule_that_never_ran_leaves_the_calendar_month(survey):
    make_rule(survey)

    period = period_for(survey=survey, today=D(2026, 12, 9))

    assert (period.starts_on, period.ends_on) == (D(2026, 12, 1), D(2026, 12, 31))


def test_a_shorter_kind_starts_at_once_and_a_longer_one_when_the_period_ends(survey):
    month = period_for(survey=survey, today=D(2026, 12, 2))
    survey.reporting_period = ReportingPeriodKind.QUARTER

    assert period_for(survey=survey, today=D(2026, 12, 9)) == month
    survey.reporting_period = ReportingPeriodKind.WEEK
    week = period_for(survey=survey, today=D(2026, 12, 9))

    month.refresh_from_db()
    assert (month.starts_on, month.ends_on) == (D(2026, 12, 1), D(2026, 12, 6))
    assert (week.starts_on, week.ends_on) == (D(2026, 12, 7), D(2026, 12, 13))


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_first_answers_of_a_period_share_one_row(needs_postgres):
    survey = make_survey(anonymous=True)
    created, release, found, errors = threading.Event(), threading.Event(), {}, []

    def first() -> None:
        try:
            with transaction.atomic():
                found["first"] = period_for(survey=survey, today=D(2026, 12, 9)).pk
                created.set()
                release.wait(timeout=10)  # the row is inserted, not yet committed
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
            created.set()
        finally:
            connection.close()

    def second() -> None:
        try:
            with transaction.atomic():  # its INSERT waits for the first, then conflicts
                found["second"] = period_for(survey=survey, today=D(2026, 12, 20)).pk
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert created.wait(timeout=10)
    threads[1].start()
    time.sleep(0.5)  # the second is now waiting on the unique index
    release.set()
    for thread in threads:
        thread.join(timeout=20)

    assert errors == []
    assert found["first"] == found["second"]
    assert ReportingPeriod.objects.filter(survey=survey).count() == 1


# --- Release in batches of at least k ------------------------------------------------------

DECEMBER = D(2026, 12, 1)
IN_DECEMBER = noon(D(2026, 12, 10))
AFTER_DECEMBER = noon(D(2027, 1, 1))


@pytest.fixture
def december(survey) -> ReportingPeriod:  # noqa: ANN001
    return period_for(survey=survey, today=D(2026, 12, 9))


def test_k_minus_one_waiting_responses_are_not_released(survey, december):
    waiting(survey, DECEMBER, 4)

    assert periods_release(now=IN_DECEMBER) == []

    december.refresh_from_db()
    assert (released(survey), december.released, december.published_at) == (0, 0, None)


def test_k_waiting_responses_are_released_together(survey, december):
    waiting(survey, DECEMBER, 5)

    assert periods_release(now=IN_DECEMBER) == [(survey.pk, DECEMBER)]

    december.refresh_from_db()
    assert (released(survey), december.released, december.published_at) == (5, 5, None)
    assert periods_release(now=IN_DECEMBER) == []  # nothing waits: nothing changes


def test_the_next_batch_waits_for_k_more(survey, december):
    waiting(survey, DECEMBER, 6)
    periods_release(now=IN_DECEMBER)
    waiting(survey, DECEMBER, 4)

    assert periods_release(now=IN_DECEMBER) == []
    assert released(survey) == 6

    waiting(survey, DECEMBER, 1)
    assert periods_release(now=IN_DECEMBER) == [(survey.pk, DECEMBER)]
    december.refresh_from_db()
    assert (released(survey), december.released) == (11, 11)


def test_an_ended_period_is_published_with_its_last_batch_of_at_least_k(survey, december):
    waiting(survey, DECEMBER, 7)

    assert periods_release(now=AFTER_DECEMBER) == [(survey.pk, DECEMBER)]

    december.refresh_from_db()
    assert (released(survey), december.released, december.published_at) == (
        7,
        7,
        AFTER_DECEMBER,
    )


def test_an_ended_period_releases_a_last_batch_under_k_when_it_holds_k_in_all(survey, december):
    # Nothing of the period was shown while it was open: its last three need no k of their own.
    waiting(survey, DECEMBER, 5)
    periods_release(now=IN_DECEMBER)
    waiting(survey, DECEMBER, 3)

    assert periods_release(now=AFTER_DECEMBER) == [(survey.pk, DECEMBER)]

    december.refresh_from_db()
    assert (released(survey), december.released, december.published_at) == (
        8,
        8,
        AFTER_DECEMBER,
    )
    assert not Response.objects.filter(survey=survey, released=False).exists()


def test_an_ended_period_under_k_in_all_is_published_with_nothing_shown(survey, december):
    waiting(survey, DECEMBER, 4)

    assert periods_release(now=AFTER_DECEMBER) == [(survey.pk, DECEMBER)]

    december.refresh_from_db()
    assert (released(survey), december.released, december.published_at) == (
        0,
        0,
        AFTER_DECEMBER,
    )
    assert Response.objects.filter(survey=survey, released=False).count() == 4
    # Frozen: later runs release nothing of it.
    assert periods_release(now=AFTER_DECEMBER + DAY) == []
    assert released(survey) == 0


def test_nothing_is_released_into_a_published_period(survey, december):
    periods_release(now=AFTER_DECEMBER)  # published with nothing released
    waiting(survey, DECEMBER, 8)  # a submit straddling midnight, a clock moved back

    assert periods_release(now=AFTER_DECEMBER + DAY) == []

    december.refresh_from_db()
    assert (released(survey), december.released, december.published_at) == (
        0,
        0,
        AFTER_DECEMBER,
    )


def test_unfinished_responses_and_other_periods_do_not_count_towards_a_batch(survey, december):
    waiting(survey, DECEMBER, 3)
    waiting(survey, DECEMBER - DAY, 2)  # another day: not this period's
    Response.objects.create(
        pk=services.anonymous_response_id(),
        survey=survey,
        audience_id=survey.audience_id,
        channel=Channel.EMAIL,
        language="tr",
        released=False,
    )
    named = make_survey(name="Named", audience=survey.audience)
    ReportingPeriod.objects.create(survey=named, starts_on=DECEMBER, ends_on=D(2026, 12, 31))
    waiting(named, DECEMBER, 6)  # a survey that is not anonymous has no batches

    assert periods_release(now=IN_DECEMBER) == []
    assert Response.objects.filter(released=True).count() == 0


def test_the_threshold_is_never_below_three(survey, december):
    survey.audience.anonymity_threshold = 2
    survey.audience.save()
    waiting(survey, DECEMBER, 2)

    assert periods_release(now=IN_DECEMBER) == []
    waiting(survey, DECEMBER, 1)
    assert periods_release(now=IN_DECEMBER) == [(survey.pk, DECEMBER)]
    assert released(survey) == 3


def test_release_takes_a_fixed_number_of_queries_whatever_the_periods_and_responses(
    survey, december, django_assert_num_queries
):
    november = ReportingPeriod.objects.create(
        survey=survey, starts_on=D(2026, 11, 1), ends_on=D(2026, 11, 30)
    )
    other = make_survey(name="Pulse 2", anonymous=True, audience=survey.audience)
    other_december = period_for(survey=other, today=D(2026, 12, 9))
    waiting(survey, DECEMBER, 40)
    waiting(survey, november.starts_on, 3)
    waiting(other, DECEMBER, 12)

    # 1 SAVEPOINT  2 lock the open periods  3 count what waits and what was released in each
    # 4 release (one UPDATE)
    # 5 the periods' released counts and publication (one UPDATE)  6 RELEASE SAVEPOINT
    with django_assert_num_queries(6):
        changed = periods_release(now=IN_DECEMBER)

    assert changed == sorted(
        [(survey.pk, DECEMBER), (survey.pk, november.starts_on), (other.pk, DECEMBER)]
    )
    got = {
        p.pk: (p.released, p.published_at)
        for p in ReportingPeriod.objects.filter(
            pk__in=[december.pk, november.pk, other_december.pk]
        )
    }
    assert got == {
        december.pk: (40, None),
        november.pk: (0, IN_DECEMBER),  # over, three waiting: never shown
        other_december.pk: (12, None),
    }


def test_release_with_no_open_period_takes_one_query(django_assert_num_queries):
    # 1 SAVEPOINT  2 lock the open periods (none)  3 RELEASE SAVEPOINT
    with django_assert_num_queries(3):
        assert periods_release(now=IN_DECEMBER) == []
