"""Key-driver analysis at scale: one analysis over 100,000 responses, on PostgreSQL.

Seeds BENCH_DRIVER_RESPONSES named responses (default 100,000) set-based with INSERT … SELECT
generate_series into a throwaway test database: an NPS outcome and ten drivers (six scored
questions, the two options of a single-choice question, two touchpoints experienced before
answering by some of the respondents), the outcome following known weights. Then times what
the task does (`metrics.drivers.services.analysis_compute`: the rows read, pivoted, weighed,
200 bootstrap rounds, stored) and the cached read behind the API. Run through bench/run.py or
directly: `python bench/bench_drivers.py`.
"""

import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")

import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:
    django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

DEFAULT_RESPONSES = 100_000
ROUNDS = 200
TARGET_S = 10.0
RUNS = 3
# Scored drivers: (key, type, scale_max, weight of the driver in the outcome).
SCORED = (
    ("csat", "csat", None, 1.2),
    ("speed", "rating", 5, 0.8),
    ("ease", "ces", 7, 0.4),
    ("staff", "rating", 5, 0.3),
    ("price", "csat", None, 0.15),
    ("app", "rating", 5, 0.0),
)


def _row(name: str, value: float, unit: str, target: float | None, ok: bool) -> dict[str, Any]:
    return {"name": name, "value": round(value, 2), "unit": unit, "target": target, "ok": ok}


def _world() -> dict[str, Any]:
    """An audience with a journey of three touchpoints and the survey with its 8 questions."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind
    from journeys.models import Journey, Stage, Touchpoint
    from surveys.models import Question, QuestionType, Survey, SurveyStatus

    owner = get_user_model().objects.create_superuser(
        username="bench", email="bench@example.com", password=secrets.token_urlsafe(16)
    )
    audience = Audience.objects.create(
        slug="shoppers", name="Shoppers", kind=AudienceKind.CUSTOMER, owner=owner
    )
    journey = Journey.objects.create(audience=audience, name="Shopping")
    stage = Stage.objects.create(journey=journey, name="Buy")
    tps = {
        slug: Touchpoint.objects.create(stage=stage, slug=slug, name=slug.title(), channel="web")
        for slug in ("checkout", "delivery", "support")
    }
    survey = Survey.objects.create(
        audience=audience,
        touchpoint=tps["checkout"],
        name="Checkout NPS",
        status=SurveyStatus.LIVE,
    )
    questions = {
        "nps": Question.objects.create(survey=survey, key="nps", type=QuestionType.NPS, order=0)
    }
    for order, (key, kind, scale, _weight) in enumerate(SCORED, start=1):
        questions[key] = Question.objects.create(
            survey=survey, key=key, type=kind, scale_max=scale, order=order
        )
    questions["paid"] = Question.objects.create(
        survey=survey,
        key="paid",
        type=QuestionType.SINGLE_CHOICE,
        order=10,
        choices=[{"value": "card", "label": {"en": "Card"}}, {"value": "cash", "label": {}}],
    )
    return {"audience": audience, "survey": survey, "questions": questions, "touchpoints": tps}


def _seed(world: dict[str, Any], responses: int) -> None:
    """People, responses, answers and touchpoint events in a handful of set-based statements."""
    survey, audience = world["survey"], world["audience"]
    q, tps = world["questions"], world["touchpoints"]
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            """
            INSERT INTO audiences_person (external_id, email, phone, name, language, time_zone,
                created_at, updated_at)
            SELECT 'bench-' || g, '', '', '', 'en', 'UTC', now(), now()
            FROM generate_series(1, %s) AS g
            RETURNING id
            """,
            [responses],
        )
        first_person = min(row[0] for row in cur.fetchall())
        # One row of driver values per respondent (1–5; ease 1–7), an option, two touchpoints.
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_rows AS
            SELECT g, {first_person} + g - 1 AS person_id,
                1 + floor(random() * 5)::int AS csat, 1 + floor(random() * 5)::int AS speed,
                1 + floor(random() * 7)::int AS ease, 1 + floor(random() * 5)::int AS staff,
                1 + floor(random() * 5)::int AS price, 1 + floor(random() * 5)::int AS app,
                random() < 0.6 AS card, random() < 0.4 AS delivery, random() < 0.2 AS support,
                now() - (g %% 60) * interval '1 day' AS at, random() AS noise
            FROM generate_series(1, %s) AS g
            """,  # noqa: S608
            [responses],
        )
        weights = " + ".join(f"{w} * {key}" for key, _k, _s, w in SCORED)
        cur.execute(
            f"""
            INSERT INTO surveys_response (survey_id, audience_id, touchpoint_id, channel,
                language, segment, completed_on, completed_at, user_agent, person_id)
            SELECT {survey.pk}, {audience.pk}, {tps["checkout"].pk}, 'email', 'en', '',
                (at AT TIME ZONE 'UTC')::date, at, '', person_id
            FROM bench_rows ORDER BY g
            RETURNING id
            """  # noqa: S608
        )
        first_response = min(row[0] for row in cur.fetchall())
        selects = [
            f"SELECT {first_response} + g - 1, {q[key].pk}, {key}, '', NULL::jsonb FROM bench_rows"
            for key, *_ in SCORED
        ]
        # The outcome: the weighted drivers, the card option and the support touchpoint, noise.
        outcome = (
            f"LEAST(10, GREATEST(0, round(({weights}) * 0.55 - 3.5 + 0.8 * card::int"
            " - 1.2 * support::int + 3 * noise)))::int"
        )
        selects.append(
            f"SELECT {first_response} + g - 1, {q['nps'].pk}, {outcome}, '', NULL FROM bench_rows"
        )
        selects.append(
            f"SELECT {first_response} + g - 1, {q['paid'].pk}, NULL, "
            "CASE WHEN card THEN 'card' ELSE 'cash' END, "
            "jsonb_build_array(CASE WHEN card THEN 'card' ELSE 'cash' END) FROM bench_rows"
        )
        cur.execute(
            "INSERT INTO surveys_answer (response_id, question_id, number, text, choices) "
            + " UNION ALL ".join(selects)
        )
        for name, days in (("delivery", 3), ("support", 10)):
            cur.execute(
                f"""
                INSERT INTO journeys_touchpointevent (person_id, touchpoint_id, occurred_at,
                    recorded_at, attributes)
                SELECT person_id, {tps[name].pk}, at - interval '{days} days', now(), '{{}}'
                FROM bench_rows WHERE {name}
                """  # noqa: S608
            )
        # Everyone passed checkout: a constant column the analysis leaves out.
        cur.execute(
            f"""
            INSERT INTO journeys_touchpointevent (person_id, touchpoint_id, occurred_at,
                recorded_at, attributes)
            SELECT person_id, {tps["checkout"].pk}, at - interval '1 hour', now(), '{{}}'
            FROM bench_rows
            """  # noqa: S608
        )
        cur.execute("DROP TABLE bench_rows")
        for table in ("audiences_person", "surveys_response", "surveys_answer"):
            cur.execute(f"VACUUM ANALYZE {table}")
        cur.execute("VACUUM ANALYZE journeys_touchpointevent")


def rows() -> list[dict[str, Any]]:
    """Seed and time one analysis; returns the bench rows."""
    if connection.vendor != "postgresql":
        return [_row("drivers: needs PostgreSQL (set DATABASE_URL)", 0, "", None, False)]
    from metrics.drivers import selectors, services
    from metrics.drivers.matrix import DriverFilters

    responses = int(os.environ.get("BENCH_DRIVER_RESPONSES", DEFAULT_RESPONSES))
    connection.settings_dict["TEST"]["NAME"] = "bench_drivers_xm"
    setup_test_environment()
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=False, aliases={"default"}, serialized_aliases=set()
    )
    out: list[dict[str, Any]] = []
    try:
        world = _world()
        start = time.perf_counter()
        _seed(world, responses)
        out.append(
            _row(
                f"drivers: seed {responses:,} responses",
                time.perf_counter() - start,
                "s",
                None,
                True,
            )
        )
        survey_id = world["survey"].pk
        timings, row = [], None
        with override_settings(DRIVERS_BOOTSTRAP_ROUNDS=ROUNDS):
            for _ in range(RUNS):
                start = time.perf_counter()
                row = services.analysis_compute(survey_id=survey_id, outcome="nps", filters={})
                timings.append(time.perf_counter() - start)
        assert row is not None  # noqa: S101 - the survey and its outcome were just created
        drivers = len(row.results)
        best = min(timings)
        out.append(
            _row(
                f"drivers: task, {row.n:,} responses × {drivers} drivers, {ROUNDS} bootstrap "
                f"rounds (best of {RUNS})",
                best,
                "s",
                TARGET_S,
                best < TARGET_S and row.n == responses and drivers == 10,
            )
        )
        start = time.perf_counter()
        for _ in range(20):
            cached = selectors.analysis_cached(
                survey_id=survey_id, outcome="nps", filters=DriverFilters()
            )
            selectors.analysis_payload(cached)  # type: ignore[arg-type]
        read_ms = (time.perf_counter() - start) / 20 * 1000
        out.append(_row("drivers: cached read (API)", read_ms, "ms", 50, read_ms < 50))
        top = ", ".join(f"{r['driver']} {r['importance']:.2f}" for r in row.results[:4])
        print(f"drivers: R² {row.r2:.3f}; top: {top}")
    finally:
        teardown_databases(old, verbosity=0)
        teardown_test_environment()
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.run import render

    print(render(rows()))
