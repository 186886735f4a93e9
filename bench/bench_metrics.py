"""Metrics at scale: NPS from rollups and raw answers, and the dashboard page, on PostgreSQL.

Seeds BENCH_ANSWERS scored answers (default 10,000,000: NPS, CSAT, CES and rating, four
per response) set-based with INSERT … SELECT generate_series into a throwaway test database,
rolls them up, then times the reads. Run through bench/run.py or directly:
`python bench/bench_metrics.py`.

BENCH_KEEP_DB=1 keeps the seeded database (bench_metrics_xm_<BENCH_ANSWERS>) afterwards and
reuses it on the next run of the same size (migrations still run on it), so iterating on the
reads skips the minutes of seeding; drop it with `dropdb` when done.
"""

import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
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

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    override_settings,
    setup_databases,
    setup_test_environment,
    teardown_databases,
    teardown_test_environment,
)

DEFAULT_ANSWERS = 10_000_000
RUNS = 5
PAGE_RUNS = 20
SPREAD_DAYS = 730
SCORED_PER_RESPONSE = 4  # NPS, CSAT, CES (1–5) and a 5-star rating

HAND_WRITTEN_NPS = """
SELECT count(*) FILTER (WHERE a.number >= 9),
       count(*) FILTER (WHERE a.number >= 7 AND a.number < 9),
       count(*) FILTER (WHERE a.number < 7)
FROM surveys_answer a
JOIN surveys_response r ON r.id = a.response_id
JOIN surveys_question q ON q.id = a.question_id
WHERE r.audience_id = %s AND r.completed_on IS NOT NULL AND q.type = 'nps'
  AND a.number IS NOT NULL
"""


def _times_ms(fn: Callable[[], Any], runs: int = RUNS) -> list[float]:
    fn()  # warm caches and plans; the dashboard's first render also publishes its scores
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _median_ms(fn: Callable[[], Any], runs: int = RUNS) -> float:
    return statistics.median(_times_ms(fn, runs))


def _p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20, method="inclusive")[-1]


def _row(name: str, value: float, unit: str, target: float | None, ok: bool) -> dict[str, Any]:
    return {"name": name, "value": round(value, 2), "unit": unit, "target": target, "ok": ok}


def _world() -> dict[str, Any]:
    """Three audiences with journeys, touchpoints and a two-question survey each."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind
    from journeys.models import Journey, Stage, Touchpoint
    from surveys.models import Question, QuestionType, Survey, SurveyStatus

    owner = get_user_model().objects.create_superuser(
        username="bench", email="bench@example.com", password=secrets.token_urlsafe(16)
    )
    world: dict[str, Any] = {"owner": owner, "audiences": []}
    for slug, kind, stages in (
        ("customers", AudienceKind.CUSTOMER, ("Discover", "Buy", "Receive", "Support")),
        ("fans", AudienceKind.FAN, ("Match day", "Season")),
        ("staff", AudienceKind.EMPLOYEE, ("Onboarding", "Growth", "Exit")),
    ):
        audience = Audience.objects.create(slug=slug, name=slug.title(), kind=kind, owner=owner)
        journey = Journey.objects.create(audience=audience, name=f"{slug} journey")
        touchpoints = []
        for order, name in enumerate(stages):
            stage = Stage.objects.create(journey=journey, name=name, order=order)
            for k in range(3):
                touchpoints.append(
                    Touchpoint.objects.create(
                        stage=stage, slug=f"{slug}-{order}-{k}", name=f"{name} {k}", channel="web"
                    ).pk
                )
        survey = Survey.objects.create(audience=audience, name=slug, status=SurveyStatus.LIVE)
        Question.objects.create(survey=survey, key="nps", type=QuestionType.NPS, order=1)
        Question.objects.create(survey=survey, key="csat", type=QuestionType.CSAT, order=2)
        Question.objects.create(
            survey=survey, key="ces", type=QuestionType.CES, order=3, scale_max=5
        )
        Question.objects.create(
            survey=survey, key="rating", type=QuestionType.RATING, order=4, scale_max=5
        )
        Question.objects.create(survey=survey, key="comment", type=QuestionType.TEXT, order=5)
        world["audiences"].append((audience, survey.pk, touchpoints))
    return world


def _seeded_world(answers: int) -> dict[str, Any] | None:
    """The world of a kept database seeded with `answers` answers, or None to seed anew."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience
    from journeys.models import Touchpoint
    from surveys.models import Response, Survey

    owner = get_user_model().objects.filter(username="bench").first()
    if owner is None or Response.objects.count() != answers // SCORED_PER_RESPONSE:
        return None
    world: dict[str, Any] = {"owner": owner, "audiences": []}
    for slug in ("customers", "fans", "staff"):
        audience = Audience.objects.get(slug=slug)
        touchpoints = list(
            Touchpoint.objects.filter(stage__journey__audience=audience)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        survey = Survey.objects.get(audience=audience)
        world["audiences"].append((audience, survey.pk, touchpoints))
    return world


def _drop_secondary_indexes(cur: Any, tables: list[str]) -> list[str]:
    """Drop the tables' non-primary indexes; return the statements that rebuild them.

    Building an index once after a bulk load is much faster than maintaining it per row.
    """
    cur.execute(
        """
        SELECT i.relname, t.relname, c.conname, pg_get_constraintdef(c.oid),
               pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
        WHERE t.relname = ANY(%s) AND NOT x.indisprimary
        """,
        [tables],
    )
    recreate = []
    for index, table, constraint, constraint_def, index_def in cur.fetchall():
        if constraint:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraint_def}')
        else:
            cur.execute(f'DROP INDEX "{index}"')
            recreate.append(index_def)
    return recreate


def _seed(world: dict[str, Any], answers: int) -> None:
    """Responses and answers in a handful of set-based statements."""
    responses = answers // SCORED_PER_RESPONSE
    customers, fans, staff = world["audiences"]

    def arr(values: list[int]) -> str:
        return "ARRAY[" + ",".join(str(v) for v in values) + "]"

    c_tps, f_tps, s_tps = (arr(a[2]) for a in (customers, fans, staff))
    # 60 % customers, 20 % fans, 20 % staff; everything else spread by the series number.
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
        # The generated rows reference only rows created above; skipping the per-row foreign
        # key triggers keeps seeding to minutes in this throwaway database.
        cur.execute("SET session_replication_role = replica")
        recreate = _drop_secondary_indexes(cur, ["surveys_response", "surveys_answer"])
        cur.execute(
            f"""
            INSERT INTO surveys_response (survey_id, audience_id, touchpoint_id, channel, language,
                segment, completed_on, completed_at, user_agent)
            SELECT
                CASE WHEN g %% 10 < 6 THEN {customers[1]} WHEN g %% 10 < 8 THEN {fans[1]}
                     ELSE {staff[1]} END,
                CASE WHEN g %% 10 < 6 THEN {customers[0].pk} WHEN g %% 10 < 8 THEN {fans[0].pk}
                     ELSE {staff[0].pk} END,
                CASE WHEN g %% 10 < 6 THEN ({c_tps})[1 + (g / 10) %% {len(customers[2])}]
                     WHEN g %% 10 < 8 THEN ({f_tps})[1 + (g / 10) %% {len(fans[2])}]
                     ELSE ({s_tps})[1 + (g / 10) %% {len(staff[2])}] END,
                (ARRAY['email','sms','web'])[1 + g %% 3],
                (ARRAY['tr','en'])[1 + (g / 3) %% 2],
                (ARRAY['gold','silver','basic','sales','ops'])[1 + (g / 7) %% 5],
                CURRENT_DATE - ((g::bigint * 7919) %% {SPREAD_DAYS})::int,
                (CURRENT_DATE - ((g::bigint * 7919) %% {SPREAD_DAYS})::int)::timestamp
                    AT TIME ZONE 'UTC' + interval '12 hours',
                ''
            FROM generate_series(1, %s) AS g
            """,  # noqa: S608
            [responses],
        )
        cur.execute(
            """
            INSERT INTO surveys_answer (response_id, question_id, number, text)
            SELECT r.id, q.id,
                CASE q.type WHEN 'nps' THEN LEAST(10, (r.id * 37 % 11) + (r.touchpoint_id % 3))
                     WHEN 'csat' THEN 1 + (r.id * 13 % 5)
                     WHEN 'ces' THEN 1 + (r.id * 7 % 5)
                     ELSE 1 + (r.id * 11 % 5) END,
                ''
            FROM surveys_response r
            JOIN surveys_question q ON q.survey_id = r.survey_id
                AND q.type IN ('nps', 'csat', 'ces', 'rating')
            """
        )
        # A few free-text comments for the verbatims (not counted in BENCH_ANSWERS).
        cur.execute(
            """
            INSERT INTO surveys_answer (response_id, question_id, text)
            SELECT r.id, q.id, 'Comment on response ' || r.id
            FROM surveys_response r
            JOIN surveys_question q ON q.survey_id = r.survey_id AND q.type = 'text'
            WHERE r.id % 1000 = 0
            """
        )
        cur.execute("SET session_replication_role = DEFAULT")
        for statement in recreate:
            cur.execute(statement)
        cur.execute("ANALYZE surveys_response")
        cur.execute("ANALYZE surveys_answer")


def rows() -> list[dict[str, Any]]:
    """Seed, roll up and time; returns the bench rows."""
    if connection.vendor != "postgresql":
        return [_row("metrics: needs PostgreSQL (set DATABASE_URL)", 0, "", None, False)]
    from metrics import selectors as s
    from metrics.services import rollups_rebuild

    answers = int(os.environ.get("BENCH_ANSWERS", DEFAULT_ANSWERS))
    keep = os.environ.get("BENCH_KEEP_DB") == "1"
    # A database of its own, whatever TEST_DATABASE_NAME the test runs use.
    connection.settings_dict["TEST"]["NAME"] = (
        f"bench_metrics_xm_{answers}" if keep else "bench_metrics_xm"
    )
    setup_test_environment()
    old = setup_databases(
        verbosity=0,
        interactive=False,
        keepdb=keep,
        aliases={"default"},
        serialized_aliases=set(),
    )
    out: list[dict[str, Any]] = []
    try:
        world = _seeded_world(answers) if keep else None
        if world is None:
            if keep:
                call_command("flush", interactive=False, verbosity=0)
            world = _world()
            start = time.perf_counter()
            _seed(world, answers)
            seed_s = time.perf_counter() - start
            out.append(_row(f"metrics: seed {answers:,} answers", seed_s, "s", None, True))
        else:
            out.append(_row(f"metrics: seed {answers:,} answers (kept)", 0, "s", None, True))
        with connection.cursor() as cur:
            cur.execute("SELECT min(completed_on), max(completed_on) FROM surveys_response")
            first, last = cur.fetchone()
        start = time.perf_counter()
        written = rollups_rebuild(date_from=first, date_to=last)
        with connection.cursor() as cur:
            cur.execute("ANALYZE metrics_dailyrollup")
        rollup_s = time.perf_counter() - start
        out.append(_row(f"metrics: rollup all days ({written:,} rows)", rollup_s, "s", None, True))

        customers = world["audiences"][0][0]
        filters = s.Filters(audience_id=customers.pk)
        from_rollups = _median_ms(
            lambda: s.aggregate(metric="nps", by=None, filters=filters, source="rollup")
        )
        out.append(
            _row(
                "metrics: NPS per audience, all time, rollups",
                from_rollups,
                "ms",
                50,
                from_rollups < 50,
            )
        )
        raw = s.aggregate(metric="nps", by=None, filters=filters, source="raw")[None]
        rolled = s.aggregate(metric="nps", by=None, filters=filters, source="rollup")[None]
        assert raw == rolled, (raw, rolled)  # noqa: S101
        orm_ms = _median_ms(
            lambda: s.aggregate(metric="nps", by=None, filters=filters, source="raw"), runs=3
        )

        def hand_written() -> None:
            with connection.cursor() as cur:
                cur.execute(HAND_WRITTEN_NPS, [customers.pk])
                cur.fetchone()

        sql_ms = _median_ms(hand_written, runs=3)
        out.append(_row("metrics: NPS per audience, raw answers (ORM)", orm_ms, "ms", None, True))
        out.append(
            _row("metrics: NPS per audience, hand-written FILTER SQL", sql_ms, "ms", None, True)
        )
        ratio = orm_ms / sql_ms
        out.append(_row("metrics: raw ORM / hand-written SQL", ratio, "x", 1.5, ratio <= 1.5))

        client = Client()
        client.force_login(world["owner"])
        url = f"/admin/metrics/{customers.slug}/"
        static = {
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        }

        def render() -> None:
            response = client.get(url, secure=True)
            assert response.status_code == 200, response.status_code  # noqa: S101

        with override_settings(STORAGES={**settings.STORAGES, **static}):
            page = _times_ms(render, runs=PAGE_RUNS)
            index_ms = _median_ms(lambda: client.get("/admin/metrics/", secure=True))
        load = os.getloadavg()[0]  # other processes share the cores
        page_ms, page_p95 = statistics.median(page), _p95(page)
        out.append(
            _row(
                f"metrics: audience dashboard page render, median of {PAGE_RUNS} (load {load:.1f})",
                page_ms,
                "ms",
                500,
                page_ms < 500,
            )
        )
        out.append(_row("metrics: audience dashboard page render, p95", page_p95, "ms", None, True))
        out.append(_row("metrics: dashboard index render", index_ms, "ms", 500, index_ms < 500))
    finally:
        connection.close()
        if not keep:
            teardown_databases(old, verbosity=0)
        teardown_test_environment()
    return out


if __name__ == "__main__":
    for r in rows():
        flag = "ok" if r["ok"] else "MISSED"
        target = "" if r["target"] is None else f" (target {r['target']})"
        print(f"{r['name']}: {r['value']} {r['unit']}{target} {flag}")
