"""The cache of key-driver analyses: the task upserts one row per (survey, outcome, filters),
the beat recomputes those whose survey has news, and top_drivers reads the cache only."""

import datetime as dt

import pytest
from django.conf import settings

from metrics.drivers import selectors, services, tasks
from metrics.drivers.models import DriverAnalysis
from tests.metrics.conftest import add_period
from tests.metrics.drivers_support import NOON, add_rows, drivers_world, known_rows
from xmplatform.celery import app

pytestmark = pytest.mark.django_db
HOUR = dt.timedelta(hours=1)
ALL = {"from": None, "to": None, "segment": None}


def test_the_task_upserts_one_row_with_the_same_figures() -> None:
    world = drivers_world()
    add_rows(world, known_rows(80))
    first_id = tasks.compute_task(world.survey.pk, "nps", ALL)
    first = DriverAnalysis.objects.get()
    again_id = tasks.compute_task(world.survey.pk, "nps", ALL)
    again = DriverAnalysis.objects.get()
    assert first_id == again_id == again.pk
    assert again.results == first.results and again.r2 == first.r2 and again.n == 80
    assert again.requested_at == first.requested_at
    assert again.computed_at >= first.computed_at
    assert again.source_watermark == {"latest": NOON.isoformat(), "responses": 80}


def test_each_outcome_and_filter_has_its_own_row() -> None:
    world = drivers_world()
    add_rows(world, known_rows(80))
    tasks.compute_task(world.survey.pk, "nps", ALL)
    tasks.compute_task(world.survey.pk, "csat", ALL)
    tasks.compute_task(world.survey.pk, "nps", {**ALL, "from": "2026-06-01"})
    assert DriverAnalysis.objects.count() == 3
    csat = DriverAnalysis.objects.get(outcome="csat")
    assert "csat" not in {r["driver"] for r in csat.results}  # the outcome is no driver
    assert "nps" in {r["driver"] for r in csat.results}


def test_a_gone_or_non_outcome_question_computes_nothing() -> None:
    world = drivers_world()
    assert tasks.compute_task(world.survey.pk, "topics", ALL) is None
    assert tasks.compute_task(world.survey.pk, "nope", ALL) is None
    assert tasks.compute_task(999999, "nps", ALL) is None
    assert not DriverAnalysis.objects.exists()


def test_beat_recomputes_analyses_whose_survey_has_new_responses() -> None:
    world = drivers_world()
    add_rows(world, known_rows(40))
    for outcome in ("nps", "csat", "speed"):
        services.analysis_compute(
            survey_id=world.survey.pk, outcome=outcome, filters=ALL, now=NOON + HOUR
        )
    assert tasks.refresh_stale_task() == 0  # nothing new
    assert DriverAnalysis.objects.get(outcome="nps").n == 40
    add_rows(world, known_rows(10, 9, at=NOON + 2 * HOUR))
    assert list(selectors.analyses_stale().values_list("outcome", flat=True)) == [
        "nps",
        "csat",
        "speed",
    ]
    assert tasks.refresh_stale_task() == 3
    row = DriverAnalysis.objects.get(outcome="nps")
    assert row.n == 50 and row.computed_at > NOON + 2 * HOUR
    assert tasks.refresh_stale_task() == 0


def test_beat_computes_the_all_time_analysis_of_each_outcome_question_once() -> None:
    world = drivers_world()
    drivers_world("quiet")  # no responses: nothing to compute
    add_rows(world, known_rows(40))
    assert selectors.analyses_missing(limit=10) == [
        (world.survey.pk, "nps"),
        (world.survey.pk, "csat"),
        (world.survey.pk, "speed"),
    ]
    assert selectors.analyses_missing(limit=2) == [
        (world.survey.pk, "nps"),
        (world.survey.pk, "csat"),
    ]
    assert tasks.refresh_stale_task() == 3
    assert set(DriverAnalysis.objects.values_list("outcome", flat=True)) == {"nps", "csat", "speed"}
    assert selectors.top_drivers(world.survey.pk, "nps")[0]["driver"] == "csat"
    assert tasks.refresh_stale_task() == 0


def test_beat_forgets_old_filtered_analyses_and_keeps_all_time_ones() -> None:
    world = drivers_world()
    add_rows(world, known_rows(40))
    long_ago = NOON - dt.timedelta(days=31)
    services.analysis_compute(survey_id=world.survey.pk, outcome="nps", filters=ALL, now=long_ago)
    services.analysis_compute(
        survey_id=world.survey.pk, outcome="nps", filters={**ALL, "segment": "x"}, now=long_ago
    )
    services.analysis_compute(
        survey_id=world.survey.pk, outcome="nps", filters={**ALL, "from": "2026-06-01"}
    )
    assert services.analyses_prune(now=NOON) == 1
    kept = {(row.filters["from"], row.filters["segment"]) for row in DriverAnalysis.objects.all()}
    assert kept == {(None, None), ("2026-06-01", None)}


def test_beat_recomputes_anonymous_analyses_when_a_period_is_published() -> None:
    world = drivers_world("staff", anonymous=True)
    may, june = dt.date(2026, 5, 1), dt.date(2026, 6, 1)
    add_period(world.survey, may, dt.date(2026, 5, 31))
    june_period = add_period(world.survey, june, dt.date(2026, 6, 30), published=False)
    add_rows(world, known_rows(40, day=may) + known_rows(40, 2, day=june))
    for outcome in ("nps", "csat", "speed"):
        services.analysis_compute(
            survey_id=world.survey.pk,
            outcome=outcome,
            filters=ALL,
            now=dt.datetime(2026, 6, 10, tzinfo=dt.UTC),
        )
    assert DriverAnalysis.objects.get(outcome="nps").n == 40
    assert tasks.refresh_stale_task() == 0
    june_period.published_at = dt.datetime(2026, 7, 1, 0, 5, tzinfo=dt.UTC)
    june_period.save(update_fields=["published_at"])
    assert tasks.refresh_stale_task() == 3
    assert DriverAnalysis.objects.get(outcome="nps").n == 80


def test_the_beat_entry_runs_a_registered_task_every_five_minutes() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["drivers-refresh-stale"]
    assert entry["task"] == "drivers.refresh_stale_task" and entry["schedule"] == 300.0
    assert entry["options"]["expires"] < entry["schedule"]
    assert "drivers.refresh_stale_task" in app.tasks
    assert "drivers.compute_task" in app.tasks


def test_top_drivers_reads_the_cache_only(django_assert_num_queries) -> None:  # noqa: ANN001
    world = drivers_world()
    add_rows(world, known_rows(80))
    with django_assert_num_queries(1):
        assert selectors.top_drivers(world.survey.pk, "nps") == []
    assert not DriverAnalysis.objects.exists()
    tasks.compute_task(world.survey.pk, "nps", ALL)
    tasks.compute_task(world.survey.pk, "nps", {**ALL, "segment": "gold"})  # not what it reads
    with django_assert_num_queries(1):
        top = selectors.top_drivers(world.survey.pk, "nps", limit=2)
    assert [d["driver"] for d in top][0] == "csat" and len(top) == 2
    assert {"driver", "label", "importance", "low", "high", "performance"} <= set(top[0])


def test_top_drivers_of_too_little_data_is_empty() -> None:
    world = drivers_world()
    add_rows(world, known_rows(5))
    tasks.compute_task(world.survey.pk, "nps", ALL)
    assert selectors.top_drivers(world.survey.pk, "nps") == []
