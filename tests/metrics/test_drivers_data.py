"""The rows of a key-driver analysis, read from real responses: scored drivers, one indicator
per choice option, touchpoints experienced in the days before answering, and the anonymity
rules of anonymous surveys (published periods only, segments only where shown)."""

import datetime as dt

import numpy as np
import pytest

from metrics.drivers.matrix import DriverFilters, matrix_build
from metrics.drivers.services import (
    NO_PUBLISHED_PERIOD,
    SEGMENT_HIDDEN,
    TOO_FEW,
    analysis_compute,
)
from tests.factories import make_audience, make_touchpoint
from tests.metrics.conftest import add_period
from tests.metrics.drivers_support import (
    NOON,
    TODAY,
    add_events,
    add_rows,
    drivers_world,
    known_rows,
    make_people,
)

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def build(world, filters=DriverFilters(), days=30, k=5):  # noqa: ANN001, ANN201, B008
    return matrix_build(
        survey=world.survey,
        outcome=world.questions["nps"],
        filters=filters,
        k=k,
        touchpoint_days=days,
    )


def column(matrix, driver):  # noqa: ANN001, ANN201
    index = [c.driver for c in matrix.columns].index(driver)
    return matrix.x[:, index]


def test_choice_answers_become_one_indicator_per_option() -> None:
    world = drivers_world()
    add_rows(
        world,
        [
            {"answers": {"nps": 9, "csat": 5, "topics": ["price"], "paid": "card"}},
            {"answers": {"nps": 3, "csat": 2, "topics": ["price", "support"], "paid": "cash"}},
            {"answers": {"nps": 7, "speed": 4, "paid": "card"}},
            {"answers": {"csat": 4, "topics": ["speed"]}},  # no outcome: no row
        ],
    )
    matrix = build(world)
    drivers = [c.driver for c in matrix.columns]
    assert drivers == [
        "csat",
        "speed",
        "ease",
        "topics=price",
        "topics=speed",
        "topics=support",
        "paid=card",
        "paid=cash",
    ]
    assert list(matrix.y) == [9, 3, 7]
    assert np.array_equal(column(matrix, "topics=price")[:2], [1, 1])
    assert np.array_equal(column(matrix, "topics=speed")[:2], [0, 0])
    assert np.array_equal(column(matrix, "topics=support")[:2], [0, 1])
    assert np.isnan(column(matrix, "topics=price")[2])  # not answered: missing, not 0
    assert np.array_equal(column(matrix, "paid=cash"), [0, 1, 0])
    assert np.array_equal(column(matrix, "csat")[:2], [5, 2]) and np.isnan(
        column(matrix, "csat")[2]
    )
    labels = next(c.labels for c in matrix.columns if c.driver == "topics=support")
    assert labels == {"en": "What mattered?: Support", "tr": "Ne önemliydi?: Destek"}


def test_touchpoints_count_when_experienced_in_the_days_before_answering() -> None:
    world = drivers_world()
    people = make_people("shopper", 5)
    add_rows(world, [{"answers": {"nps": 8}, "person": p} for p in people])
    delivery, support = world.touchpoints["delivery"], world.touchpoints["support"]
    add_events(delivery, [people[0]], NOON - 5 * DAY)  # in the window
    add_events(delivery, [people[1]], NOON - 40 * DAY)  # too long before
    add_events(delivery, [people[2]], NOON + dt.timedelta(hours=1))  # after answering
    add_events(support, [people[3]], NOON - DAY)
    add_events(support, [people[3]], NOON - 2 * DAY)  # twice still means 1
    elsewhere = make_touchpoint(make_audience("other"), slug="other-shop")
    add_events(elsewhere, [people[4]], NOON - DAY)  # another audience's journey: not a driver
    matrix = build(world)
    assert [c.driver for c in matrix.columns if c.kind == "touchpoint"] == [
        "touchpoint:shoppers-delivery",
        "touchpoint:shoppers-support",
    ]
    assert np.array_equal(column(matrix, "touchpoint:shoppers-delivery"), [1, 0, 0, 0, 0])
    assert np.array_equal(column(matrix, "touchpoint:shoppers-support"), [0, 0, 0, 1, 0])
    wider = build(world, days=60)
    assert np.array_equal(column(wider, "touchpoint:shoppers-delivery"), [1, 1, 0, 0, 0])


def test_rows_are_read_in_a_fixed_number_of_queries(django_assert_num_queries) -> None:  # noqa: ANN001
    world = drivers_world()
    people = make_people("shopper", 60)
    rows = known_rows(60)
    for row, person in zip(rows, people, strict=True):
        row["person"] = person
    add_rows(world, rows)
    add_events(world.touchpoints["delivery"], people[:20], NOON - 3 * DAY)
    # survey's watermark, questions, numbers pivoted per response, choice answers,
    # touchpoint pairs, touchpoint names
    with django_assert_num_queries(6):
        matrix = build(world)
    assert matrix.n == 60


def test_filters_select_days_and_segment_and_skip_unreleased_responses() -> None:
    world = drivers_world()
    add_rows(world, known_rows(4, segment="gold"))
    add_rows(world, known_rows(3, segment="basic", day=TODAY - 10 * DAY))
    add_rows(world, known_rows(2, released=False))
    assert build(world).n == 7
    assert build(world, DriverFilters(segment="gold")).n == 4
    assert build(world, DriverFilters(date_to=TODAY - DAY)).n == 3
    assert build(world, DriverFilters(date_from=TODAY, date_to=TODAY)).n == 4


def test_analysis_of_real_rows_ranks_the_strongest_driver_first() -> None:
    world = drivers_world()
    add_rows(world, known_rows(400))
    row = analysis_compute(survey_id=world.survey.pk, outcome="nps", filters={})
    assert row is not None and row.reason == "" and row.n == 400
    ranked = [r["driver"] for r in row.results]
    assert ranked[0] == "csat"
    assert ranked.index("speed") < ranked.index("paid=card")
    by_driver = {r["driver"]: r for r in row.results}
    assert by_driver["topics=price"]["correlation"] < 0
    assert "ease" not in by_driver  # never answered
    csat = [r["answers"]["csat"] for r in known_rows(400)]
    assert by_driver["csat"]["performance"] == pytest.approx(
        (np.mean(csat) - 1) / 4 * 100, abs=0.01
    )
    price = np.mean(["price" in r["answers"]["topics"] for r in known_rows(400)]) * 100
    assert by_driver["topics=price"]["performance"] == pytest.approx(price, abs=0.01)
    assert sum(r["importance"] for r in row.results) == pytest.approx(1.0, abs=1e-5)
    for r in row.results:
        assert r["low"] <= r["importance"] + 1e-9 <= r["high"] + 2e-9
    assert 0 < row.r2 < 1


def test_too_few_responses_give_a_reason_never_importances() -> None:
    world = drivers_world()
    add_rows(world, known_rows(29))
    row = analysis_compute(survey_id=world.survey.pk, outcome="nps", filters={})
    assert (row.reason, row.n, row.results, row.r2) == (TOO_FEW, 29, [], None)


# --- Anonymous surveys ------------------------------------------------------------------------

MAY, JUNE = dt.date(2026, 5, 1), dt.date(2026, 6, 1)


@pytest.fixture
def pulse():  # noqa: ANN201
    """An anonymous survey: May published with 40 responses, June still open with 40."""
    world = drivers_world("staff", anonymous=True, threshold=5)
    add_period(world.survey, MAY, dt.date(2026, 5, 31))
    add_period(world.survey, JUNE, dt.date(2026, 6, 30), published=False)
    add_rows(
        world, known_rows(36, day=MAY, segment="sales") + known_rows(4, 2, day=MAY, segment="hr")
    )
    add_rows(world, known_rows(40, 3, day=JUNE, segment="sales"))
    return world


def test_anonymous_survey_reads_published_periods_only(pulse) -> None:  # noqa: ANN001
    row = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={})
    assert row.n == 40 and row.results
    assert not any(r["driver"].startswith("touchpoint:") for r in row.results)


def test_anonymous_survey_with_only_an_open_period_gives_a_reason(pulse) -> None:  # noqa: ANN001
    row = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={"from": "2026-06-01"})
    assert (row.reason, row.results, row.r2) == (NO_PUBLISHED_PERIOD, [], None)
    # A window that cuts into the published period does not reach it either: whole periods.
    row = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={"from": "2026-05-02"})
    assert row.reason == NO_PUBLISHED_PERIOD


def test_anonymous_segment_below_k_gives_a_reason(pulse) -> None:  # noqa: ANN001
    # HR's 4 responses: a cell under k, never shown.
    row = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={"segment": "hr"})
    assert (row.reason, row.results) == (SEGMENT_HIDDEN, [])
    # Sales (36 of 40) would leave 4 beside it: its complement is under k, so it is hidden.
    row = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={"segment": "sales"})
    assert (row.reason, row.results) == (SEGMENT_HIDDEN, [])


def test_anonymous_segment_shown_on_the_dashboard_is_analysed() -> None:
    world = drivers_world("crew", anonymous=True, threshold=5)
    add_period(world.survey, MAY, dt.date(2026, 5, 31))
    add_rows(
        world, known_rows(32, day=MAY, segment="ops") + known_rows(8, 2, day=MAY, segment="it")
    )
    row = analysis_compute(survey_id=world.survey.pk, outcome="nps", filters={"segment": "ops"})
    assert row.reason == "" and row.n == 32


def test_anonymous_driver_answered_by_fewer_than_k_in_a_period_is_unanswered_there() -> None:
    world = drivers_world("team", anonymous=True, threshold=5)
    add_period(world.survey, MAY, dt.date(2026, 5, 31))
    rows = known_rows(40, day=MAY)
    for row in rows[:4]:
        row["answers"]["ease"] = 6  # 4 answers to ease in the period: a block under k
    add_rows(world, rows)
    matrix = build(world)
    assert np.isnan(column(matrix, "ease")).all()


def test_polling_an_anonymous_analysis_learns_nothing_until_a_period_is_published(pulse) -> None:  # noqa: ANN001
    """Batches released in the open period change nothing; publishing adds a whole period."""
    first = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={})
    add_rows(pulse, known_rows(5, 7, day=JUNE, segment="sales"))  # another released batch of k
    again = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={})
    assert (again.n, again.r2, again.results) == (first.n, first.r2, first.results)
    june = pulse.survey.reporting_periods.get(starts_on=JUNE)
    june.published_at = dt.datetime(2026, 7, 1, 0, 5, tzinfo=dt.UTC)
    june.save(update_fields=["published_at"])
    published = analysis_compute(survey_id=pulse.survey.pk, outcome="nps", filters={})
    assert published.n == first.n + 45  # the whole of June at once
