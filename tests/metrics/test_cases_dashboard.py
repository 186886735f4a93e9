"""The audience page's closed loop: closed-loop rate, median time to close, detractor recovery."""

import datetime as dt

import pytest
from django.urls import reverse

from metrics.closedloop import selectors
from metrics.models import Alert, AlertRule, Case, CaseStatus, NotifyMode, RootCause, RuleCondition
from tests.metrics.conftest import TODAY, add_responses, build_world, make_people

pytestmark = pytest.mark.django_db

OPENED = dt.datetime.combine(TODAY - dt.timedelta(days=5), dt.time(9), tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.utils import timezone

    fixed = dt.datetime.combine(TODAY, dt.time(18), tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)


@pytest.fixture
def world():  # noqa: ANN201
    return build_world()


@pytest.fixture
def rule(world):  # noqa: ANN001, ANN201
    return AlertRule.objects.create(
        audience=world.audience,
        name="Detractors",
        condition=RuleCondition.ANSWER_AT_MOST,
        question_type="nps",
        threshold=6,
    )


@pytest.fixture
def cause() -> RootCause:
    return RootCause.objects.create(name="Billing")


def _case(rule, cause, *, status: str, hours: float | None, response=None) -> Case:  # noqa: ANN001
    alert = Alert.objects.create(
        rule=rule,
        audience=rule.audience,
        response=response,
        window_start=None if response else OPENED - dt.timedelta(days=Alert.objects.count()),
        summary="x",
        opened_at=OPENED,
        notify=NotifyMode.NONE,
    )
    closed = status in (CaseStatus.RESOLVED, CaseStatus.WONT_FIX)
    return Case.objects.create(
        alert=alert,
        audience=rule.audience,
        response=response,
        person=response.person if response else None,
        title="x",
        status=status,
        opened_at=OPENED,
        due_at=OPENED + dt.timedelta(days=1),
        closed_at=OPENED + dt.timedelta(hours=hours) if closed and hours is not None else None,
        root_cause=cause if closed else None,
    )


def test_rate_and_median_time_to_close(world, rule, cause) -> None:  # noqa: ANN001
    _case(rule, cause, status=CaseStatus.RESOLVED, hours=2)
    _case(rule, cause, status=CaseStatus.RESOLVED, hours=6)
    _case(rule, cause, status=CaseStatus.WONT_FIX, hours=10)
    _case(rule, cause, status=CaseStatus.NEW, hours=None)

    loop = selectors.closed_loop(
        audience=world.audience, date_from=TODAY - dt.timedelta(days=29), date_to=TODAY
    )

    assert loop["opened"] == 4
    assert loop["closed"] == 3
    assert loop["resolved"] == 2
    assert loop["rate"] == 50.0
    assert loop["median_hours"] == 6.0


def test_median_of_an_even_count_is_the_mean_of_the_middle_two(world, rule, cause) -> None:  # noqa: ANN001
    for hours in (1, 3, 5, 40):
        _case(rule, cause, status=CaseStatus.RESOLVED, hours=hours)

    loop = selectors.closed_loop(audience=world.audience, date_from=None, date_to=TODAY)

    assert loop["median_hours"] == 4.0
    assert loop["rate"] == 100.0


def test_no_cases_show_no_rate(world) -> None:  # noqa: ANN001
    loop = selectors.closed_loop(audience=world.audience, date_from=None, date_to=TODAY)

    assert loop == {
        "opened": 0,
        "closed": 0,
        "resolved": 0,
        "rate": None,
        "median_hours": None,
        "recovery": None,
    }


def _recovered_detractors(world, rule, cause, next_scores: list[int | None]) -> None:  # noqa: ANN001
    people = make_people("det", len(next_scores))
    first_day = TODAY - dt.timedelta(days=6)
    responses = add_responses(world, [{"nps": 3, "day": first_day, "person": p} for p in people])
    for response in responses:
        _case(rule, cause, status=CaseStatus.RESOLVED, hours=4, response=response)
    later = [
        {"nps": score, "day": TODAY - dt.timedelta(days=1), "person": p}
        for p, score in zip(people, next_scores, strict=True)
        if score is not None
    ]
    add_responses(world, later)


def test_detractor_recovery_counts_the_next_answer_after_the_case_closed(
    world, rule, cause
) -> None:  # noqa: ANN001
    _recovered_detractors(world, rule, cause, [10, 9, 9, 8, 2, None])

    loop = selectors.closed_loop(audience=world.audience, date_from=None, date_to=TODAY)

    assert loop["recovery"] == {
        "followed": 6,
        "answered": 5,
        "suppressed": False,
        "promoters": 3,
        "passives": 1,
        "detractors": 1,
        "nps": 40.0,
    }


def test_detractor_recovery_under_the_threshold_is_hidden(world, rule, cause) -> None:  # noqa: ANN001
    _recovered_detractors(world, rule, cause, [10, 9, None])

    loop = selectors.closed_loop(audience=world.audience, date_from=None, date_to=TODAY)

    assert loop["recovery"] == {
        "followed": 3,
        "answered": 2,
        "suppressed": True,
        "promoters": None,
        "passives": None,
        "detractors": None,
        "nps": None,
    }


def test_closed_loop_costs_three_queries_at_any_size(
    world, rule, cause, django_assert_num_queries
) -> None:  # noqa: ANN001
    _recovered_detractors(world, rule, cause, [10, 9, 9, 8, 2, None, 7, 1])
    _case(rule, cause, status=CaseStatus.NEW, hours=None)
    # 1 case counts, 2 median durations, 3 detractor recovery.
    with django_assert_num_queries(3):
        selectors.closed_loop(audience=world.audience, date_from=None, date_to=TODAY)


def test_audience_page_shows_the_closed_loop(client, xm_manager, world, rule, cause) -> None:  # noqa: ANN001
    _recovered_detractors(world, rule, cause, [10, 9, 9, 8, 2, None])
    _case(rule, cause, status=CaseStatus.NEW, hours=None)
    client.force_login(xm_manager)

    response = client.get(reverse("metrics:audience", args=[world.audience.slug]))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<td id="xm-cases-opened">7</td>' in html
    assert '<td id="xm-closed-loop-rate">85.7 %</td>' in html
    assert '<td id="xm-median-close">4.0</td>' in html
    assert "3 promoters, 1 passives, 1 detractors (NPS 40)" in html
