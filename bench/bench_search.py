"""People search at scale: 1,000,000 people on PostgreSQL, by name, e-mail, phone and id.

Seeds BENCH_SEARCH_PEOPLE people (default 1,000,000) set-based into a throwaway database:
Turkish and English first names and surnames (60 × 60, so a surname is shared by about 17,000
people and a full name by about 280), an e-mail address, a Turkish mobile number and an
external id each, a membership in one of three audiences; the trigram index is built after the
load, as after a bulk import, and the table vacuumed as autovacuum would. Then times what the
people list runs for a search (audiences.search: the first page of ids and rows, newest
first, and its bounded count), as the XM team (every person) and as an analyst of one audience,
and the whole list page for a search. Target: < 100 ms per search, < 300 ms per page.
Run through bench/run.py or alone: `python bench/bench_search.py`.
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

DEFAULT_PEOPLE = 1_000_000
TARGET_MS = 100.0
TARGET_PAGE_MS = 300.0
RUNS = 7
FIRST = (
    "Ayşe Fatma Emine Hatice Zeynep Elif Meryem Şerife Zehra Sultan Hanife Merve Özlem Büşra "
    "Gülşen İpek Çiğdem Barış Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim İsmail Osman "
    "Yusuf Murat Ömer Oğuz Ümit Gökhan Çağrı Emre Serkan Olivia Amelia Isla Ava Mia Grace "
    "Sophia Emily Lily Ella Jack Oliver Harry George Noah Charlie Jacob Thomas Oscar William "
    "James Leo Henry Liam"
).split()
LAST = (
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç "
    "Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat Özer Güneş Erdoğan Aktaş Korkmaz Bulut "
    "Işık Keskin Ünal Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright "
    "Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James "
    "Phillips Mason Mitchell Rose Davis Turner"
).split()
DOMAINS = ("example.com", "posta.com.tr", "firma.com.tr", "mail.example.org")


def _sql_array(values: tuple[str, ...] | list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _world() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind

    existing = Audience.objects.filter(slug__in=("customers", "fans", "staff")).order_by("pk")
    if len(existing) == 3:  # a kept database (BENCH_SEARCH_KEEP=1)
        return {"owner": existing[0].owner, "audiences": list(existing)}
    owner = get_user_model().objects.create_superuser(username="bench-search-owner")
    audiences = [
        Audience.objects.create(slug=slug, name=slug.title(), kind=kind, owner=owner)
        for slug, kind in (
            ("customers", AudienceKind.CUSTOMER),
            ("fans", AudienceKind.FAN),
            ("staff", AudienceKind.EMPLOYEE),
        )
    ]
    return {"owner": owner, "audiences": audiences}


def _seed(world: dict[str, Any], people: int) -> None:
    """People with names, addresses, phones and a membership each; the index built after."""
    first, last = _sql_array(FIRST), _sql_array(LAST)
    ids = "ARRAY[" + ",".join(str(a.pk) for a in world["audiences"]) + "]"
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit TO off")
        cur.execute("DROP INDEX IF EXISTS person_search_trgm")
        cur.execute(
            f"""
            INSERT INTO audiences_person (external_id, email, phone, name, language, time_zone,
                created_at, updated_at)
            SELECT 'crm-' || g,
                'u' || g || '@' || ({_sql_array(DOMAINS)})[1 + g %% 4],
                '+90 5' || lpad(((g::bigint * 7919) %% 1000000000)::text, 9, '0'),
                ({first})[1 + g %% {len(FIRST)}] || ' '
                    || ({last})[1 + (g / {len(FIRST)}) %% {len(LAST)}],
                (ARRAY['en','tr'])[1 + g %% 2], 'Europe/Istanbul', now(), now()
            FROM generate_series(1, %s) AS g
            """,  # noqa: S608
            [people],
        )
        cur.execute(
            f"""
            INSERT INTO audiences_membership (person_id, audience_id, segment, attributes)
            SELECT p.id, ({ids})[1 + (p.id / 7) %% 3], '', '{{}}'::jsonb FROM audiences_person p
            """,  # noqa: S608
            [],
        )
        cur.execute(
            "CREATE INDEX person_search_trgm ON audiences_person USING gin "
            "(search_text gin_trgm_ops)"
        )
        for table in ("audiences_person", "audiences_membership"):
            cur.execute(f"VACUUM (ANALYZE) {table}")


def _searches() -> list[tuple[str, str]]:
    return [
        ("surname, Turkish letters typed plain", "yilmaz"),
        ("first name in capitals", "BARIS"),
        ("first and part of the surname", "ayşe yıl"),
        ("surname in part", "walk"),
        ("phone, as written", "0503 359 23"),
        ("e-mail in part", "u4242@firma"),
        ("external id, exact", "crm-4242"),
        ("nobody", "zzqxj"),
    ]


def _time_search(query: str, audience_ids: list[int] | None) -> tuple[float, int]:
    """Median ms of what the list runs for a search: the page's ids, its rows, the count."""
    from audiences.models import Membership, Person
    from audiences.search import PeopleSearchPaginator, people_matching

    def run() -> int:
        people = Person.objects.all()
        if audience_ids is not None:
            members = Membership.objects.filter(audience_id__in=audience_ids)
            people = people.filter(pk__in=members.values("person_id"))
        found = people_matching(people, query).order_by("-id")
        # What the people list runs: the first page (ids, then rows) and the bounded count.
        paginator = PeopleSearchPaginator(found, 50)
        list(paginator.page(1).object_list)
        return paginator.count

    matches = run()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), matches


def _time_page(client: Client, path: str) -> tuple[float, int]:
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


def _analyst(world: dict[str, Any]) -> Any:
    from django.contrib.auth import get_user_model

    from audiences.models import AudienceGrant, Role

    user, _created = get_user_model().objects.get_or_create(
        username="bench-search-analyst", defaults={"is_staff": True}
    )
    AudienceGrant.objects.get_or_create(
        user=user, audience=world["audiences"][0], defaults={"role": Role.ANALYST}
    )
    return user


def rows() -> list[dict[str, Any]]:
    """Seed, time each search and the list page, return the bench rows."""
    if connection.vendor != "postgresql":
        return [
            {
                "name": "search: needs PostgreSQL (set DATABASE_URL)",
                "value": 0,
                "unit": "",
                "target": None,
                "ok": False,
            }
        ]
    from audiences.models import Person

    people = int(os.environ.get("BENCH_SEARCH_PEOPLE", DEFAULT_PEOPLE))
    # BENCH_SEARCH_KEEP=1 keeps the seeded database for the next run (and for EXPLAIN).
    keep = os.environ.get("BENCH_SEARCH_KEEP") == "1"
    connection.settings_dict["TEST"]["NAME"] = "bench_search_xm"
    old = setup_databases(
        verbosity=0,
        interactive=False,
        keepdb=keep,
        aliases={"default"},
        serialized_aliases=set(),
    )
    out: list[dict[str, Any]] = []
    try:
        world = _world()
        if Person.objects.count() < people:
            start = time.perf_counter()
            _seed(world, people)
            out.append(
                {
                    "name": f"search: seed {people:,} people (+ trigram index)",
                    "value": time.perf_counter() - start,
                    "unit": "s",
                    "target": "-",
                    "ok": True,
                }
            )
        customers = [world["audiences"][0].pk]
        for who, scope in (("", None), ("analyst of one audience, ", customers)):
            for name, query in _searches():
                ms, matches = _time_search(query, scope)
                load = os.getloadavg()[0]
                out.append(
                    {
                        "name": f"search: people at {people:,}, {who}{name} ({query!r}: "
                        f"{matches:,} found, load {load:.1f})",
                        "value": ms,
                        "unit": "ms",
                        "target": f"< {TARGET_MS:.0f}",
                        "ok": ms < TARGET_MS,
                    }
                )
        static = {
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        }
        clients = []
        for user in (world["owner"], _analyst(world)):
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            clients.append(client)
        with override_settings(STORAGES={**settings.STORAGES, **static}):
            for who, client in zip(("", "analyst's "), clients, strict=True):
                for query in ("yilmaz", "ayşe yıl", "0503 359 23"):
                    path = f"/admin/audiences/person/?q={query}"
                    ms, queries = _time_page(client, path)
                    out.append(
                        {
                            "name": f"search: {who}people list ?q={query} ({queries} queries)",
                            "value": ms,
                            "unit": "ms",
                            "target": f"< {TARGET_PAGE_MS:.0f}",
                            "ok": ms < TARGET_PAGE_MS,
                        }
                    )
    finally:
        connection.close()
        if not keep:
            teardown_databases(old, verbosity=0)
    return out


if __name__ == "__main__":
    from bench.run import render

    print(render(rows()))
