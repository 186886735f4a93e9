"""Named surveys' scores are exact and fresh: after a rollup they equal, to the digit, what one
computes from the responses the API lists; a response completed now counts at once; the
rollups' watermark decides which days come from the rollups. And the beat task that releases
anonymous batches rolls them up."""

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import definitions as d
from metrics import selectors as s
from metrics.models import DailyRollup, RollupState
from metrics.services import ROLLUP_GRACE, rollup_recent, rollups_rebuild
from surveys.models import Response
from tests.metrics.conftest import (
    World,
    add_period,
    add_responses,
    anonymous_world,
    build_world,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _today() -> dt.date:
    return timezone.localdate()


def _nps_of(values: list[int]) -> d.Score:
    return d.nps(
        promoters=sum(v >= 9 for v in values),
        passives=sum(7 <= v <= 8 for v in values),
        detractors=sum(v <= 6 for v in values),
    )


def _watermark() -> dt.date | None:
    return RollupState.objects.get(pk=1).complete_through


# --- The done-when check -----------------------------------------------------------------------


def test_scores_equal_what_the_listed_responses_give_to_the_digit(api_key_for: Any) -> None:
    world = build_world(touchpoints=(("checkout", "Purchase"), ("delivery", "Delivery")))
    today = _today()
    history = [
        {
            "nps": (7 * i) % 11,
            "day": today - dt.timedelta(days=1 + i % 9),
            "touchpoint": ("checkout", "delivery")[i % 2],
            "segment": ("gold", "basic", "new")[i % 3],
        }
        for i in range(37)
    ]
    add_responses(world, history)
    call_command("metrics_rollup", verbosity=0)
    assert _watermark() == today - dt.timedelta(days=1)
    # After the rollup: completed now, in the answers only.
    add_responses(world, [{"nps": v, "day": today, "touchpoint": "checkout"} for v in (10, 3, 9)])
    client = api_key_for(world)
    since = (today - dt.timedelta(days=4)).isoformat()
    listed = []
    page = client.get(f"/api/v1/surveys/{world.survey.pk}/responses/", {"since": since})
    while True:
        assert page.status_code == 200
        listed += page.json()["results"]
        if not page.json().get("next"):
            break
        page = client.get(page.json()["next"])
    values = [r["answers"]["nps"] for r in listed]
    expected = _nps_of(values)
    body = client.get(
        "/api/v1/scores/",
        {"audience": "customers", "metric": "nps", "from": since, "survey": world.survey.pk},
    ).json()
    [row] = body["results"]
    assert (row["n"], row["score"], row["margin"]) == (expected.n, expected.value, expected.margin)
    # Per touchpoint and per day, the same.
    for by, key in (("touchpoint", "touchpoint"), ("day", "completed_on")):
        grouped: dict[str, list[int]] = {}
        for r in listed:
            grouped.setdefault(str(r[key]), []).append(r["answers"]["nps"])
        body = client.get(
            "/api/v1/scores/",
            {"audience": "customers", "metric": "nps", "from": since, "by": by},
        ).json()
        assert {r["group"]: (r["n"], r["score"]) for r in body["results"]} == {
            group: (_nps_of(v).n, _nps_of(v).value) for group, v in grouped.items()
        }
    assert dt.datetime.fromisoformat(body["as_of"]) <= timezone.now()


def test_a_response_completed_now_counts_without_a_rollup() -> None:
    world = build_world()
    today = _today()
    add_responses(world, [{"nps": 10, "day": today - dt.timedelta(days=1)}] * 4)
    rollups_rebuild(date_from=today - dt.timedelta(days=3), date_to=today + dt.timedelta(days=1))
    assert s.scores(audience=world.audience, metric="nps", by=None).rows[0]["n"] == 4
    add_responses(world, [{"nps": 0, "day": today}])
    [row] = s.scores(audience=world.audience, metric="nps", by=None).rows
    assert (row["n"], row["score"]) == (5, 60.0)


def test_rollup_rows_after_the_watermark_are_never_counted_twice() -> None:
    world = build_world()
    today = _today()
    add_responses(world, [{"nps": 9, "day": today}, {"nps": 9, "day": today - dt.timedelta(1)}])
    rollup_recent()  # rolls up today (and tomorrow) too
    assert DailyRollup.objects.filter(day=today).exists()
    assert _watermark() == today - dt.timedelta(days=1)
    assert s.scores(audience=world.audience, metric="nps", by=None).rows[0]["n"] == 2


# --- The watermark -----------------------------------------------------------------------------


def test_the_watermark_covers_days_that_ended_before_the_rollup_and_join_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = dt.date(2026, 6, 15)

    def at(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    # Just after midnight a late submit of yesterday may still commit: not complete yet.
    at(dt.datetime.combine(day, dt.time(0, 2), tzinfo=UTC))
    rollups_rebuild(date_from=day - dt.timedelta(days=3), date_to=day + dt.timedelta(days=1))
    assert _watermark() == day - dt.timedelta(days=2)
    at(dt.datetime.combine(day, dt.time(0, 0), tzinfo=UTC) + ROLLUP_GRACE)
    rollups_rebuild(date_from=day - dt.timedelta(days=1), date_to=day + dt.timedelta(days=1))
    assert _watermark() == day - dt.timedelta(days=1)
    # A range that leaves a gap after the watermark moves nothing.
    at(dt.datetime.combine(day + dt.timedelta(days=5), dt.time(9), tzinfo=UTC))
    rollups_rebuild(date_from=day + dt.timedelta(days=3), date_to=day + dt.timedelta(days=4))
    assert _watermark() == day - dt.timedelta(days=1)
    # The periodic run catches up on the days it missed.
    rollup_recent()
    assert _watermark() == day + dt.timedelta(days=4)


def test_metrics_rollup_without_from_catches_up_from_the_watermark() -> None:
    world = build_world()
    today = _today()
    add_responses(world, [{"nps": 9, "day": today - dt.timedelta(days=20)}])
    call_command("metrics_rollup", verbosity=0)
    assert _watermark() == today - dt.timedelta(days=1)
    assert DailyRollup.objects.get().day == today - dt.timedelta(days=20)


named_answers = st.lists(st.tuples(st.integers(0, 10), st.integers(0, 9)), min_size=0, max_size=30)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=named_answers,
    through=st.integers(0, 9),
    start=st.integers(0, 9),
    span=st.integers(0, 9),
)
def test_fresh_scores_equal_the_answers_for_any_watermark_and_window(
    answers: list[tuple[int, int]], through: int, start: int, span: int
) -> None:
    from django.db import transaction

    base = dt.date(2026, 6, 1)
    with transaction.atomic():
        world = build_world("fresh")
        add_responses(world, [{"nps": v, "day": base + dt.timedelta(days=k)} for v, k in answers])
        rollups_rebuild(date_from=base, date_to=base + dt.timedelta(days=9))
        RollupState.objects.filter(pk=1).update(complete_through=base + dt.timedelta(days=through))
        date_from = base + dt.timedelta(days=start)
        date_to = date_from + dt.timedelta(days=span)
        rows = s.scores(
            audience=world.audience, metric="nps", by="day", date_from=date_from, date_to=date_to
        ).rows
        raw = s.score_rows(
            audience=world.audience,
            metric="nps",
            by="day",
            filters=s.Filters(audience_id=world.audience.pk, date_from=date_from, date_to=date_to),
            source="raw",
        )
        assert rows == raw
        transaction.set_rollback(True)


# --- The scores API's survey filter ------------------------------------------------------------


def test_scores_filter_by_survey_and_refuse_a_bad_one(api_key_for: Any) -> None:
    world = build_world()
    other = type(world.survey).objects.create(audience=world.audience, name="Other", status="live")
    other.questions.create(key="nps", type="nps", order=1)
    add_responses(world, [{"nps": 10}, {"nps": 10}])
    add_responses(world, [{"nps": 0}], survey=other)
    client = api_key_for(world)
    query = {"audience": "customers", "metric": "nps"}
    assert [r["n"] for r in client.get("/api/v1/scores/", query).json()["results"]] == [3]
    mine = client.get("/api/v1/scores/", {**query, "survey": world.survey.pk}).json()
    assert (mine["survey"], [r["n"] for r in mine["results"]]) == (world.survey.pk, [2])
    by_survey = client.get("/api/v1/scores/", {**query, "by": "survey"}).json()["results"]
    assert {r["group"]: r["n"] for r in by_survey} == {world.survey.pk: 2, other.pk: 1}
    bad = client.get("/api/v1/scores/", {**query, "survey": "pulse"})
    assert (bad.status_code, bad.json()) == (
        400,
        {"survey": "Give a survey by its id (got pulse)."},
    )
    rate = client.get(
        "/api/v1/scores/", {**query, "metric": "response_rate", "survey": world.survey.pk}
    )
    assert rate.status_code == 400
    # Another audience's survey shows nothing of it.
    staff = anonymous_world("staff")
    foreign = client.get("/api/v1/scores/", {**query, "survey": staff.survey.pk}).json()
    assert foreign["results"] == []


# --- The release task --------------------------------------------------------------------------


def test_the_release_task_releases_batches_of_k_rolls_them_up_and_shows_them_once_published() -> (
    None
):
    pytest.importorskip("surveys.periods")
    from metrics.tasks import anonymous_periods_release_task

    world: World = anonymous_world("staff", threshold=5)
    october = dt.date(2026, 10, 1)
    add_period(world.survey, october, dt.date(2026, 10, 31), published=False)
    # The rollups are complete past October's first day: its figures come from them.
    rollups_rebuild(date_from=october, date_to=dt.date(2026, 10, 20))
    RollupState.objects.filter(pk=1).update(complete_through=dt.date(2026, 10, 19))
    add_responses(world, [{"nps": 9, "day": october, "released": False}] * 4)
    assert anonymous_periods_release_task(now="2026-10-20T12:00:00+00:00") == 0
    assert s.scores(audience=world.audience, metric="enps", by=None).rows == []
    add_responses(world, [{"nps": 0, "day": october, "released": False}])
    assert anonymous_periods_release_task(now="2026-10-20T12:01:00+00:00") == 1
    assert not Response.objects.filter(released=False).exists()
    assert DailyRollup.objects.get(day=october, anonymous=True).n == 5
    # Released, rolled up, but the period is open: no figure shows it yet.
    assert s.scores(audience=world.audience, metric="enps", by=None).rows == []
    # Two more wait when October ends: released with the period, which holds k in all.
    add_responses(world, [{"nps": 10, "day": october, "released": False}] * 2)
    assert anonymous_periods_release_task(now="2026-11-01T00:05:00+00:00") == 1
    [row] = s.scores(audience=world.audience, metric="enps", by=None).rows
    assert (row["n"], row["score"]) == (7, 100 * (6 - 1) / 7)
    assert DailyRollup.objects.get(day=october, anonymous=True).n == 7


def test_named_scores_cost_three_queries_and_two_when_the_window_is_rolled_up(
    django_assert_num_queries,
) -> None:
    world = build_world()
    today = _today()
    add_responses(
        world, [{"nps": 9, "day": today - dt.timedelta(days=2)}, {"nps": 3, "day": today}]
    )
    rollups_rebuild(date_from=today - dt.timedelta(days=5), date_to=today)
    # 1 surveys (with the rollups' watermark), 2 the rollups up to it, 3 today's answers.
    with django_assert_num_queries(3):
        rows = s.scores(audience=world.audience, metric="nps", by="touchpoint").rows
    assert [r["n"] for r in rows] == [2]
    # A window that ends before the watermark needs no answers.
    with django_assert_num_queries(2):
        s.scores(
            audience=world.audience,
            metric="nps",
            by=None,
            date_to=today - dt.timedelta(days=1),
        )
