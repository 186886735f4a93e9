"""Daily rollups: idempotent, re-runnable per day, and equal to the raw aggregates."""

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics import selectors as s
from metrics.models import DailyRollup, EventDay, OperationsSnapshot, Verbatim
from metrics.services import rollups_rebuild
from metrics.tasks import rollup_day_task, rollup_recent_task
from surveys.models import Response
from tests.metrics.conftest import TODAY, add_responses, build_world

pytestmark = pytest.mark.django_db


def _snapshot() -> list[tuple]:
    return sorted(
        DailyRollup.objects.values_list(
            "day",
            "question_id",
            "touchpoint_id",
            "segment",
            "channel",
            "language",
            "n",
            "total",
            "sumsq",
            "promoters",
            "passives",
            "detractors",
            "top2",
        ),
        key=str,
    )


def test_rollup_task_is_idempotent_and_per_day() -> None:
    world = build_world()
    add_responses(
        world, [{"nps": 10, "csat": 5, "segment": "gold"}, {"nps": 3, "csat": 2, "segment": "gold"}]
    )
    add_responses(world, [{"nps": 8, "day": TODAY - dt.timedelta(days=1)}])
    add_responses(world, [{"nps": 0, "completed": False}])
    assert rollup_day_task.delay(TODAY.isoformat()).get() == 2  # nps and csat rows for the day
    first = _snapshot()
    assert rollup_day_task.delay(TODAY.isoformat()).get() == 2
    assert _snapshot() == first
    [nps_row] = DailyRollup.objects.filter(question_type="nps")
    assert (nps_row.n, nps_row.total, nps_row.sumsq, nps_row.promoters, nps_row.detractors) == (
        2,
        13,
        109,
        1,
        1,
    )
    # Re-running one day leaves the other days alone.
    rollup_day_task.delay((TODAY - dt.timedelta(days=1)).isoformat()).get()
    assert DailyRollup.objects.count() == 3
    rollup_day_task.delay(TODAY.isoformat()).get()
    assert DailyRollup.objects.count() == 3


def test_rollup_picks_up_late_answers_on_rerun() -> None:
    world = build_world()
    add_responses(world, [{"nps": 10}])
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    add_responses(world, [{"nps": 0}])
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    [row] = DailyRollup.objects.all()
    assert (row.n, row.promoters, row.detractors) == (2, 1, 1)


def test_rollup_files_each_free_text_answer_of_a_completed_response_once() -> None:
    world = build_world()
    add_responses(
        world,
        [
            {"nps": 9, "comment": "quick delivery", "segment": "gold", "touchpoint": "checkout"},
            {"nps": 3, "comment": ""},
            {"nps": 5},
            {"nps": 7, "comment": "unfinished", "completed": False},
        ],
    )
    add_responses(world, [{"nps": 8, "comment": "yesterday", "day": TODAY - dt.timedelta(days=1)}])
    for _ in range(2):
        rollups_rebuild(date_from=TODAY - dt.timedelta(days=1), date_to=TODAY)
    filed = Verbatim.objects.order_by("day").values_list(
        "day", "segment", "touchpoint__slug", "answer__text"
    )
    assert list(filed) == [
        (TODAY - dt.timedelta(days=1), "", None, "yesterday"),
        (TODAY, "gold", "customers-checkout", "quick delivery"),
    ]
    # Re-running one day leaves the other days' verbatims alone.
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    assert Verbatim.objects.count() == 2


def test_rollup_recent_task_covers_today() -> None:
    from django.utils import timezone

    world = build_world()
    add_responses(world, [{"nps": 9, "day": timezone.now().date()}])
    assert rollup_recent_task.delay().get() == 1


def test_rollup_recent_task_follows_new_events_back_to_old_answers() -> None:
    from django.utils import timezone

    from journeys.models import TouchpointEvent, TouchpointRole
    from metrics.models import DailyOutcome
    from tests.factories import make_touchpoint
    from tests.metrics.conftest import make_people

    world = build_world()
    shop = make_touchpoint(world.audience, slug="shop", role=TouchpointRole.PURCHASE)
    [buyer] = make_people("buyer", 1)
    long_ago = timezone.now().date() - dt.timedelta(days=40)
    add_responses(world, [{"nps": 10, "person": buyer, "day": long_ago}])
    rollups_rebuild(date_from=long_ago, date_to=long_ago)
    # Imported today, it happened a month ago: after the answer, before the recent days.
    month_ago = timezone.now() - dt.timedelta(days=30)
    TouchpointEvent.objects.create(
        person=buyer, touchpoint=shop, occurred_at=month_ago, attributes={"value": 25}
    )
    rollup_recent_task.delay().get()
    [day] = DailyOutcome.objects.all()
    assert (day.day, day.category, day.n, day.lost, day.spend) == (long_ago, "promoter", 1, 0, 25)
    # The dashboard's operations snapshots of the customers were computed again.
    assert OperationsSnapshot.objects.filter(date_to=timezone.now().date()).count() == 3
    [bought] = EventDay.objects.all()
    assert (bought.day, bought.role, bought.events, bought.value) == (
        timezone.localdate(month_ago),
        "purchase",
        1,
        25,
    )


ANSWER = st.fixed_dictionaries(
    {
        "nps": st.integers(0, 10),
        "csat": st.integers(1, 5),
        "ces": st.integers(1, 5),
        "day": st.sampled_from([TODAY - dt.timedelta(days=k) for k in (0, 1, 9, 40, 100)]),
        "segment": st.sampled_from(["", "gold", "basic"]),
        "channel": st.sampled_from(["email", "sms"]),
        "language": st.sampled_from(["en", "tr"]),
        "touchpoint": st.sampled_from([None, "checkout", "delivery"]),
        "completed": st.booleans(),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(answers=st.lists(ANSWER, max_size=30))
def test_rollup_and_raw_paths_agree_on_random_data(answers: list[dict]) -> None:
    Response.objects.all().delete()
    DailyRollup.objects.all().delete()
    world = _WORLD.get("w") or _WORLD.setdefault("w", build_world())
    add_responses(world, answers)
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=400), date_to=TODAY)
    date_from = TODAY - dt.timedelta(days=30)
    for metric in ("nps", "csat", "csat_mean", "ces"):
        for by in (
            None,
            "segment",
            "channel",
            "language",
            "touchpoint",
            "stage",
            "journey",
            "week",
            "month",
            "quarter",
        ):
            for f in (
                s.Filters(audience_id=world.audience.pk),
                s.Filters(
                    audience_id=world.audience.pk,
                    date_from=date_from,
                    date_to=TODAY,
                    segment="gold",
                ),
            ):
                raw = s.aggregate(metric=metric, by=by, filters=f, source="raw")
                rolled = s.aggregate(metric=metric, by=by, filters=f, source="rollup")
                assert raw == rolled, (metric, by, f)


OUTCOME_ANSWER = st.fixed_dictionaries(
    {
        "nps": st.integers(0, 10),
        "day": st.sampled_from([TODAY - dt.timedelta(days=k) for k in (0, 3, 40)]),
        "segment": st.sampled_from(["", "gold"]),
        "person": st.sampled_from([None, 0, 1, 2]),
        "completed": st.booleans(),
    }
)
# (person, role, days before TODAY noon, value); values are whole so sums are exact floats.
OUTCOME_EVENT = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["purchase", "churned"]),
    st.sampled_from([-1, 0, 2, 10, 50]),
    st.integers(0, 99),
)


def _events(world, people, events) -> None:  # noqa: ANN001
    from journeys.models import TouchpointEvent

    noon = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)
    TouchpointEvent.objects.bulk_create(
        [
            TouchpointEvent(
                person=people[p],
                touchpoint=world.touchpoints[role],
                occurred_at=noon - dt.timedelta(days=days, minutes=1),
                attributes={"value": value},
            )
            for p, role, days, value in events
        ]
    )


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    answers=st.lists(OUTCOME_ANSWER, max_size=20),
    before=st.lists(OUTCOME_EVENT, max_size=8),
    later=st.lists(OUTCOME_EVENT, max_size=8),
)
def test_return_on_experience_from_outcomes_matches_the_raw_answers(
    answers: list[dict], before: list[tuple], later: list[tuple]
) -> None:
    from journeys.models import TouchpointEvent, TouchpointRole
    from metrics.services import late_events_refresh
    from tests.factories import make_touchpoint
    from tests.metrics.conftest import make_people

    Response.objects.all().delete()
    TouchpointEvent.objects.all().delete()
    if "o" not in _WORLD:
        world = build_world("loyal", threshold=1)
        for role in (TouchpointRole.PURCHASE, TouchpointRole.CHURNED):
            world.touchpoints[role] = make_touchpoint(
                world.audience, slug=f"loyal-{role}", stage_name="Account", role=role
            )
        _WORLD["o"] = (world, make_people("loyal", 3))
    world, people = _WORLD["o"]
    add_responses(
        world,
        [{**a, "person": None if a["person"] is None else people[a["person"]]} for a in answers],
    )
    _events(world, people, before)
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=60), date_to=TODAY)
    # Events recorded after the rebuild reach old answers through the refresh.
    _events(world, people, later)
    late_events_refresh(since=dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=5))
    for f in (
        s.Filters(audience_id=world.audience.pk),
        s.Filters(
            audience_id=world.audience.pk,
            date_from=TODAY - dt.timedelta(days=30),
            date_to=TODAY,
            segment="gold",
        ),
    ):
        raw = s.return_on_experience(audience=world.audience, filters=f, source="raw")
        rolled = s.return_on_experience(audience=world.audience, filters=f, source="rollup")
        assert raw == rolled, f


_WORLD: dict = {}


@pytest.fixture(autouse=True)
def _fresh_world() -> None:
    _WORLD.clear()


def test_rollup_command_rebuilds_a_range_and_rejects_bad_dates() -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    world = build_world()
    add_responses(world, [{"nps": 9}, {"nps": 1, "day": TODAY - dt.timedelta(days=3)}])
    out = StringIO()
    call_command(
        "metrics_rollup",
        "--from",
        (TODAY - dt.timedelta(days=5)).isoformat(),
        "--to",
        TODAY.isoformat(),
        stdout=out,
    )
    assert DailyRollup.objects.count() == 2
    assert "2 rows" in out.getvalue()
    with pytest.raises(CommandError, match="is not a date"):
        call_command("metrics_rollup", "--from", "yesterday")
    with pytest.raises(CommandError, match="must not be before"):
        call_command("metrics_rollup", "--from", "2026-06-10", "--to", "2026-06-01")
