"""Admin changelists at scale: render time and query count of each large list, on PostgreSQL.

Seeds BENCH_ADMIN_PEOPLE people (default 1,000,000) with one membership, consent, touchpoint
event and invitation each, and BENCH_ANSWERS answers (default 10,000,000, seeded by
bench_metrics' set-based INSERT … SELECT), into a throwaway database, vacuumed as autovacuum
would after the load; then renders every changelist over a large table, unfiltered and
filtered, as a superuser, and the large lists as an analyst of one audience (scoped to its
rows). A fourth audience, a pilot, has one event for every tenth person, all older than any
other event: its analyst's event list is the one whose rows sit at the far end of the id
index. Target: < 300 ms each.
Run through bench/run.py or alone: `python bench/bench_admin.py`.
"""

import os
import statistics
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

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    teardown_databases,
)

from bench.bench_metrics import DEFAULT_ANSWERS, _seed, _world  # noqa: E402

DEFAULT_PEOPLE = 1_000_000
TARGET_MS = 300.0
RUNS = 5
SEGMENTS = "ARRAY['gold','silver','basic','sales','ops']"


def _pilot(world: dict[str, Any]) -> None:
    """A fourth audience, a pilot that has gone quiet: three touchpoints, its events the oldest."""
    from audiences.models import Audience, AudienceKind
    from journeys.models import Journey, Stage, Touchpoint

    audience = Audience.objects.create(
        slug="pilot", name="Pilot", kind=AudienceKind.CUSTOMER, owner=world["owner"]
    )
    stage = Stage.objects.create(
        journey=Journey.objects.create(audience=audience, name="pilot journey"), name="Trial"
    )
    touchpoints = [
        Touchpoint.objects.create(stage=stage, slug=f"pilot-{k}", name=f"Trial {k}", channel=ch).pk
        for k, ch in enumerate(("web", "app", "email"))
    ]
    world["pilot"] = (audience, touchpoints)


def _seed_people(world: dict[str, Any], people: int) -> None:
    """People with a membership, a consent, an event and an invitation each, set-based.

    The pilot's events (one for every tenth person) are inserted before every other event.
    """
    audiences = [a[0].pk for a in world["audiences"]]
    surveys = [a[1] for a in world["audiences"]]
    touchpoints = [a[2][0] for a in world["audiences"]]

    def arr(values: list[int]) -> str:
        return "ARRAY[" + ",".join(str(v) for v in values) + "]"

    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
        cur.execute(
            """
            INSERT INTO audiences_person (external_id, email, phone, name, language, time_zone,
                created_at, updated_at)
            SELECT 'p-' || g, 'p' || g || '@example.com', '', 'Person ' || g,
                (ARRAY['en','tr'])[1 + g %% 2], 'Europe/Istanbul', now(), now()
            FROM generate_series(1, %s) AS g
            """,
            [people],
        )
        cur.execute(
            f"""
            INSERT INTO audiences_membership (person_id, audience_id, segment, attributes,
                joined_on)
            SELECT p.id, ({arr(audiences)})[1 + p.id %% 3], ({SEGMENTS})[1 + (p.id / 3) %% 5],
                '{{}}'::jsonb, CURRENT_DATE - (p.id %% 1000)::int
            FROM audiences_person p
            """,  # noqa: S608
            [],
        )
        cur.execute(
            """
            INSERT INTO audiences_consent (person_id, channel, status, source, changed_at)
            SELECT p.id, 'email', 'granted', 'bench', now() FROM audiences_person p
            """
        )
        cur.execute(
            f"""
            INSERT INTO journeys_touchpointevent (person_id, touchpoint_id, occurred_at,
                recorded_at, attributes)
            SELECT p.id, ({arr(world["pilot"][1])})[1 + (p.id / 10) %% 3],
                now() - make_interval(days => 400, mins => (p.id %% 129600)::int), now(),
                '{{}}'::jsonb
            FROM audiences_person p WHERE p.id %% 10 = 0
            ORDER BY p.id
            """,  # noqa: S608
            [],
        )
        cur.execute(
            f"""
            INSERT INTO journeys_touchpointevent (person_id, touchpoint_id, occurred_at,
                recorded_at, attributes)
            SELECT p.id, ({arr(touchpoints)})[1 + p.id %% 3],
                now() - make_interval(mins => (p.id %% 129600)::int), now(), '{{}}'::jsonb
            FROM audiences_person p
            """,  # noqa: S608
            [],
        )
        cur.execute(
            f"""
            INSERT INTO surveys_invitation (survey_id, person_id, channel, nonce, token_hash,
                state, suppression_reason, language, planned_at, sent_at, attempts, message_id,
                reminders_sent, defer_count, last_defer_reason)
            SELECT ({arr(surveys)})[1 + p.id %% 3], p.id, 'email', md5(p.id::text),
                md5(p.id::text) || md5((p.id + 1)::text),
                (ARRAY['sent','opened','responded','suppressed'])[1 + p.id %% 4], '', 'en',
                now(), now(), 0, '', 0, 0, ''
            FROM audiences_person p
            """,  # noqa: S608
            [],
        )
        for table in (
            "audiences_person",
            "audiences_consent",
            "audiences_membership",
            "journeys_touchpointevent",
            "surveys_invitation",
        ):
            cur.execute(f"ANALYZE {table}")


def _vacuum() -> None:
    """VACUUM ANALYZE the listed tables, as autovacuum does soon after a bulk load.

    Fresh from the seed, no page is marked all-visible, so index-only scans still visit the
    table for every row; a running database has these marks. Without them the figures would
    measure the minutes after a bulk import, not the admin.
    """
    with connection.cursor() as cur:
        for table in (
            "audiences_person",
            "audiences_membership",
            "audiences_consent",
            "journeys_touchpointevent",
            "surveys_invitation",
            "surveys_response",
        ):
            cur.execute(f"VACUUM (ANALYZE) {table}")


def _changelists(world: dict[str, Any]) -> list[tuple[str, str]]:
    customers, _fans, _staff = world["audiences"]
    return [
        ("people", "/admin/audiences/person/"),
        ("people, exact search", "/admin/audiences/person/?q=p-4242"),
        ("people, language filter", "/admin/audiences/person/?language__exact=tr"),
        ("memberships", "/admin/audiences/membership/"),
        (
            "memberships, audience filter",
            f"/admin/audiences/membership/?audience__id__exact={customers[0].pk}",
        ),
        ("consents", "/admin/audiences/consent/"),
        ("touchpoint events", "/admin/journeys/touchpointevent/"),
        ("touchpoint events, exact search", "/admin/journeys/touchpointevent/?q=p-4242"),
        ("invitations", "/admin/surveys/invitation/"),
        ("invitations, state filter", "/admin/surveys/invitation/?state__exact=opened"),
        ("responses", "/admin/surveys/response/"),
        (
            "responses, survey filter",
            f"/admin/surveys/response/?survey__id__exact={customers[1]}",
        ),
        ("responses, completed filter", "/admin/surveys/response/?completed=yes"),
        ("surveys (response counts)", "/admin/surveys/survey/"),
        ("audiences (member counts)", "/admin/audiences/audience/"),
    ]


def _analyst(world: dict[str, Any], audience: Any, username: str = "bench-analyst") -> Any:
    """A staff user with an analyst grant on `audience` only (a CX analyst)."""
    from django.contrib.auth import get_user_model

    from audiences.models import Role
    from audiences.services import grant_set

    user = get_user_model().objects.create_user(username=username)
    grant_set(user=user, audience=audience, role=Role.ANALYST, actor=world["owner"])
    return user


def _scoped_changelists(world: dict[str, Any]) -> list[tuple[str, str]]:
    """The large lists as an analyst of one audience sees them (scoped to its rows)."""
    return [
        ("people", "/admin/audiences/person/"),
        ("memberships", "/admin/audiences/membership/"),
        ("consents", "/admin/audiences/consent/"),
        ("touchpoint events", "/admin/journeys/touchpointevent/"),
        ("touchpoint events, exact search", "/admin/journeys/touchpointevent/?q=p-4242"),
        ("invitations", "/admin/surveys/invitation/"),
        ("responses", "/admin/surveys/response/"),
    ]


def _pilot_changelists() -> list[tuple[str, str]]:
    """The pilot analyst's events: every one of them older than any other audience's."""
    path = "/admin/journeys/touchpointevent/"
    return [
        ("touchpoint events (the oldest)", path),
        ("touchpoint events (the oldest), page 2", path + "?p=2"),
        (
            "touchpoint events (the oldest), channel filter",
            f"{path}?touchpoint__channel__exact=app",
        ),
    ]


def _measure(client: Client, path: str) -> tuple[float, int]:
    """Median render time (ms) after a warm-up, and the queries one render runs."""
    response = client.get(path, secure=True)
    assert response.status_code == 200, (path, response.status_code)  # noqa: S101
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(path, secure=True)
        times.append((time.perf_counter() - start) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(path, secure=True)
    return statistics.median(times), len(queries)


def rows() -> list[dict[str, Any]]:
    """Seed, render every large changelist, return the bench rows."""
    if connection.vendor != "postgresql":
        return [
            {
                "name": "admin: needs PostgreSQL (set DATABASE_URL)",
                "value": 0,
                "unit": "",
                "target": None,
                "ok": False,
            }
        ]
    people = int(os.environ.get("BENCH_ADMIN_PEOPLE", DEFAULT_PEOPLE))
    answers = int(os.environ.get("BENCH_ANSWERS", DEFAULT_ANSWERS))
    connection.settings_dict["TEST"]["NAME"] = "bench_admin_xm"
    old = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    out: list[dict[str, Any]] = []
    try:
        world = _world()
        _pilot(world)
        start = time.perf_counter()
        _seed_people(world, people)
        _seed(world, answers)
        _vacuum()
        seeded = time.perf_counter() - start
        scale = f"{people:,} people, {answers:,} answers"
        out.append(
            {"name": f"admin: seed {scale}", "value": seeded, "unit": "s", "target": "-"}
            | {"ok": True}
        )
        # No setup_test_environment(): its instrumented template rendering would be timed too.
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(world["owner"])
        static = {
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        }
        analyst = Client(HTTP_HOST="127.0.0.1")
        analyst.force_login(_analyst(world, world["audiences"][0][0]))
        pilot = Client(HTTP_HOST="127.0.0.1")
        pilot.force_login(_analyst(world, world["pilot"][0], "bench-pilot-analyst"))
        with override_settings(STORAGES={**settings.STORAGES, **static}):
            for who, user_client, lists in (
                ("", client, _changelists(world)),
                ("analyst's ", analyst, _scoped_changelists(world)),
                ("pilot analyst's ", pilot, _pilot_changelists()),
            ):
                for name, path in lists:
                    ms, queries = _measure(user_client, path)
                    load = os.getloadavg()[0]  # other processes share the cores
                    label = f"admin: {who}{name} changelist ({queries} queries, load {load:.1f})"
                    out.append(
                        {
                            "name": label,
                            "value": ms,
                            "unit": "ms",
                            "target": f"< {TARGET_MS:.0f}",
                            "ok": ms < TARGET_MS,
                        }
                    )
    finally:
        connection.close()
        teardown_databases(old, verbosity=0)
    return out


if __name__ == "__main__":
    from bench.run import render

    print(render(rows()))
