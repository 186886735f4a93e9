"""Metrics at scale: NPS from rollups and raw answers, and the dashboard page, on PostgreSQL.

Seeds BENCH_ANSWERS scored answers (default 10,000,000: NPS, CSAT, CES and rating, four
per response) set-based with INSERT … SELECT generate_series into a throwaway test database,
the customers answering as known people with purchases, churn and follow-up cases (so Return
on Experience and the closed loop on the page have real work), rolls them up, then times the
reads. Run through bench/run.py or directly:
`python bench/bench_metrics.py`.

BENCH_KEEP_DB=1 keeps the seeded database (bench_metrics_xm_<BENCH_ANSWERS>) afterwards and
reuses it, rollups included, on the next run of the same size (migrations still run on it),
so iterating on the reads skips the minutes of seeding; BENCH_REBUILD=1 rebuilds the rollups
of a kept database (after a change to what they hold). Drop it with `dropdb` when done.
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
from django.utils import timezone  # noqa: E402

DEFAULT_ANSWERS = 10_000_000
RUNS = 5
PAGE_RUNS = 20
PICKER_RUNS = 5
SPREAD_DAYS = 730
SCORED_PER_RESPONSE = 4  # NPS, CSAT, CES (1–5) and a 5-star rating
ROLLUP_TABLES = [
    "metrics_dailyrollup",
    "metrics_verbatim",
    "metrics_answeroutcome",
    "metrics_dailyoutcome",
    "metrics_eventday",
]
SEEDED_TABLES = [
    "audiences_person",
    "audiences_membership",
    "surveys_response",
    "surveys_answer",
    "journeys_touchpointevent",
]

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
    """Three audiences with journeys, touchpoints and a five-question survey each."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind
    from journeys.models import Journey, Stage, Touchpoint, TouchpointRole
    from metrics.models import AlertRule, NotifyMode, RootCause, RuleCondition, ScoreMetric
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
    # Where the customers' outcomes happen (Return on Experience), and the closed loop's rule.
    customers = world["audiences"][0][0]
    account = Stage.objects.create(
        journey=Journey.objects.get(audience=customers), name="Account", order=9
    )
    world["shop"], world["leave"] = (
        Touchpoint.objects.create(
            stage=account, slug=f"customers-{role}", name=name, channel="web", role=role
        ).pk
        for role, name in ((TouchpointRole.PURCHASE, "Shop"), (TouchpointRole.CHURNED, "Leave"))
    )
    world["rule"] = AlertRule.objects.create(
        name="Detractors",
        audience=customers,
        condition=RuleCondition.ANSWER_AT_MOST,
        question_type=ScoreMetric.NPS,
        threshold=6,
        notify=NotifyMode.NONE,
    ).pk
    world["root_cause"] = RootCause.objects.get_or_create(name="Delivery and logistics")[0].pk
    return world


def _seeded_world(answers: int) -> dict[str, Any] | None:
    """The world of a kept database seeded with `answers` answers, or None to seed anew."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, Person
    from journeys.models import Touchpoint
    from surveys.models import Response, Survey

    responses = answers // SCORED_PER_RESPONSE
    owner = get_user_model().objects.filter(username="bench").first()
    if (
        owner is None
        or Response.objects.count() != responses
        or Person.objects.count() != _people(responses)
    ):
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
    people = _people(responses)
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
        # The generated rows reference only rows created above; skipping the per-row foreign
        # key triggers keeps seeding to minutes in this throwaway database.
        cur.execute("SET session_replication_role = replica")
        recreate = _drop_secondary_indexes(cur, SEEDED_TABLES)
        # Customers answer as known people (about five responses each over the two years).
        cur.execute(
            """
            INSERT INTO audiences_person (external_id, email, phone, name, language, time_zone,
                created_at, updated_at)
            SELECT 'bench-' || g, '', '', '', 'en', 'UTC', now(), now()
            FROM generate_series(1, %s) AS g
            RETURNING id
            """,
            [people],
        )
        first = min(row[0] for row in cur.fetchall())
        cur.execute(
            f"""
            INSERT INTO surveys_response (survey_id, audience_id, touchpoint_id, channel, language,
                segment, completed_on, completed_at, user_agent, person_id)
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
                '',
                CASE WHEN g %% 10 < 6 THEN {first} + (g::bigint * 104729) %% {people} END
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
        _seed_outcomes(cur, world, first=first, people=people)
        cur.execute("SET session_replication_role = DEFAULT")
        for statement in recreate:
            cur.execute(statement)
        # As autovacuum would after the load: statistics, the visibility map and hint bits.
        for table in (*SEEDED_TABLES, "metrics_alert", "metrics_case"):
            cur.execute(f"VACUUM ANALYZE {table}")


def _people(responses: int) -> int:
    return max(1, responses // 8)


def _seed_outcomes(cur: Any, world: dict[str, Any], *, first: int, people: int) -> None:
    """The customers' memberships, purchases and churn, and follow-up cases for detractors.

    Four purchases per person and one person in ten churning, spread over the two years, so
    Return on Experience follows real outcomes; a case for every 50th detractor response,
    three in four of them closed.
    """
    customers = world["audiences"][0][0].pk
    cur.execute(
        f"""
        INSERT INTO audiences_membership (person_id, audience_id, segment, attributes,
            joined_on, left_on)
        SELECT id, {customers}, '', '{{}}', CURRENT_DATE - {SPREAD_DAYS + 30}, NULL
        FROM audiences_person WHERE id >= {first}
        """  # noqa: S608
    )
    for touchpoint, count, attributes in (
        (world["shop"], 4 * people, "jsonb_build_object('value', 10 + e % 90)"),
        (world["leave"], max(1, people // 10), "'{}'::jsonb"),
    ):
        cur.execute(
            f"""
            INSERT INTO journeys_touchpointevent (person_id, touchpoint_id, occurred_at,
                recorded_at, attributes)
            SELECT {first} + (e::bigint * 7) % {people}, {touchpoint},
                (CURRENT_DATE - ((e::bigint * 7919) % {SPREAD_DAYS})::int)::timestamp
                    AT TIME ZONE 'UTC' + (e % 24) * interval '1 hour',
                now(), {attributes}
            FROM generate_series(1, {count}) AS e
            """  # noqa: S608
        )
    cur.execute(
        f"""
        INSERT INTO metrics_alert (rule_id, audience_id, response_id, summary, opened_at, notify,
            notify_attempts)
        SELECT {world["rule"]}, r.audience_id, r.id, 'NPS ' || a.number,
            r.completed_at + interval '5 minutes', 'none', 0
        FROM surveys_response r
        JOIN surveys_answer a ON a.response_id = r.id
        JOIN surveys_question q ON q.id = a.question_id AND q.type = 'nps'
        WHERE r.audience_id = {customers} AND a.number <= 6 AND r.id % 50 = 0
        """  # noqa: S608
    )
    cur.execute(
        f"""
        INSERT INTO metrics_case (alert_id, audience_id, response_id, person_id, title, status,
            opened_at, due_at, closed_at, root_cause_id)
        SELECT al.id, al.audience_id, al.response_id, r.person_id, al.summary,
            CASE WHEN al.id % 4 < 2 THEN 'resolved' WHEN al.id % 4 = 2 THEN 'wont_fix'
                 ELSE 'new' END,
            al.opened_at, al.opened_at + interval '3 days',
            CASE WHEN al.id % 4 < 3 THEN al.opened_at + (1 + al.id % 72) * interval '1 hour' END,
            CASE WHEN al.id % 4 < 3 THEN {world["root_cause"]} END
        FROM metrics_alert al JOIN surveys_response r ON r.id = al.response_id
        """  # noqa: S608
    )


def rows() -> list[dict[str, Any]]:
    """Seed, roll up and time; returns the bench rows."""
    if connection.vendor != "postgresql":
        return [_row("metrics: needs PostgreSQL (set DATABASE_URL)", 0, "", None, False)]
    from metrics import selectors as s
    from metrics.models import DailyRollup
    from metrics.services import operations_snapshots_refresh, rollups_rebuild

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
        seeded = world is None
        if seeded:
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
        if seeded or os.environ.get("BENCH_REBUILD") == "1":
            written = rollups_rebuild(date_from=first, date_to=last)
        else:
            written = DailyRollup.objects.count()
        with connection.cursor() as cur:
            # What autovacuum does soon after a bulk load (statistics, visibility, hint bits);
            # the dashboard then reads these tables as it would in steady state.
            for table in ROLLUP_TABLES:
                cur.execute(f"VACUUM ANALYZE {table}")
        rollup_s = time.perf_counter() - start
        out.append(_row(f"metrics: rollup all days ({written:,} rows)", rollup_s, "s", None, True))
        # What the periodic rollup task does after the days: the page's operations periods.
        start = time.perf_counter()
        snapshots = operations_snapshots_refresh(today=timezone.now().date())
        out.append(
            _row(
                f"metrics: operations snapshots ({snapshots})",
                time.perf_counter() - start,
                "s",
                None,
                True,
            )
        )

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
        # The metric picker: one survey's CSAT (as a CSAT survey opens), a mean on its scale,
        # the response rate and an operational metric, each with trend band and heatmap.
        survey_id = world["audiences"][0][1]
        for name, query in (
            ("CSAT of one survey", f"?survey={survey_id}&metric=csat"),
            ("CES mean", "?metric=ces"),
            ("response rate", "?metric=response_rate"),
            ("churn rate", "?metric=churn_rate"),
        ):

            def picked(query: str = query) -> None:
                response = client.get(url + query, secure=True)
                assert response.status_code == 200, response.status_code  # noqa: S101

            with override_settings(STORAGES={**settings.STORAGES, **static}):
                picked_ms = _median_ms(picked, runs=PICKER_RUNS)
            out.append(
                _row(
                    f"metrics: audience page, {name}, median of {PICKER_RUNS}",
                    picked_ms,
                    "ms",
                    500,
                    picked_ms < 500,
                )
            )
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
