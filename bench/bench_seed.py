"""People upsert throughput (people/s), the way seed_demo writes people, in a throwaway database.

The database is created and dropped with Django's test-database utilities, so the benchmark
never touches real data. It stops after BENCH_SEED_SECONDS (default 20 s) or BENCH_SEED_PEOPLE
people (default 100 000), whichever comes first.
"""

from __future__ import annotations

import datetime as dt
import os
import time

from django.db import connection, transaction
from django.test.utils import setup_databases, teardown_databases

TARGET_PEOPLE_PER_S = 3000  # seed_demo: 1 000 000 people in under six minutes
TARGET_UPSERT_PER_S = 2000  # a 100 000-row CSV import written in under a minute


def rows() -> list[dict]:
    seconds = float(os.environ.get("BENCH_SEED_SECONDS", "20"))
    limit = int(os.environ.get("BENCH_SEED_PEOPLE", "100000"))
    # Our own database name, so a benchmark never collides with a test run's test_… database.
    connection.settings_dict["TEST"]["NAME"] = f"bench_seed_{os.getpid()}"
    # No serialization: nothing here rolls back to a snapshot.
    old = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        people, elapsed = _measure(seconds, limit)
        upserted, upsert_elapsed = _measure_upsert(seconds / 2, limit)
    finally:
        teardown_databases(old, verbosity=0)
    rate = people / elapsed if elapsed else 0.0
    upsert_rate = upserted / upsert_elapsed if upsert_elapsed else 0.0
    return [
        {
            "name": f"people_upsert service ({connection.vendor}, {upserted:,} people)",
            "value": upsert_rate,
            "unit": "people/s",
            "target": f">= {TARGET_UPSERT_PER_S:,}",
            "ok": upsert_rate >= TARGET_UPSERT_PER_S,
        },
        {
            "name": f"seed_demo people + memberships ({connection.vendor}, {people:,} people)",
            "value": rate,
            "unit": "people/s",
            "target": f">= {TARGET_PEOPLE_PER_S:,}",
            "ok": rate >= TARGET_PEOPLE_PER_S,
        },
        {
            "name": "seed_demo --people 1000000, people phase (extrapolated)",
            "value": 1_000_000 / rate if rate else float("inf"),
            "unit": "s",
            "target": "<= 600",
            "ok": rate > 0 and 1_000_000 / rate <= 600,
        },
    ]


def _measure(seconds: float, limit: int) -> tuple[int, float]:
    from audiences import demo

    today = dt.date.today()  # noqa: DTZ011 - only the demo rows' join dates depend on it
    with transaction.atomic():
        _admin, owners, _created = demo.seed_users()
        audiences = demo.seed_audiences(owners)
    done = 0
    started = time.monotonic()
    while done < limit and time.monotonic() - started < seconds:
        with transaction.atomic():
            demo.seed_people(
                start=done,
                count=done + demo.CHUNK,
                seed=1,
                today=today,
                audiences=audiences,
            )
        done += demo.CHUNK
    return done, time.monotonic() - started


def _measure_upsert(seconds: float, limit: int) -> tuple[int, float]:
    """people_upsert (the import path) creating new people into one audience, chunk by chunk."""
    from audiences import demo
    from audiences.models import Audience
    from audiences.services import people_upsert

    today = dt.date.today()  # noqa: DTZ011 - only the demo rows' join dates depend on it
    audience = Audience.objects.get(slug="customers")
    offset = 10_000_000  # past the people _measure created
    done = 0
    started = time.monotonic()
    while done < limit and time.monotonic() - started < seconds:
        rows = []
        for i in range(offset + done, offset + done + demo.CHUNK):
            generated = demo.demo_person(i, seed=1, today=today)
            rows.append({**generated["person"], **next(iter(generated["memberships"].values()))})
        people_upsert(rows=rows, audience=audience)
        done += demo.CHUNK
    return done, time.monotonic() - started
