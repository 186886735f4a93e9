"""The people CSV import's peak memory and speed for a 25 MB file, in a throwaway database.

The file (BENCH_IMPORT_MB, default 25: about 212 000 people with two attribute columns) is
written to a temporary file and imported the way `manage.py import_people` does, under
tracemalloc: the peak is what the import's Python objects take at most (the process itself,
Django and the database driver are not counted). Before the import streamed, it kept every
row in a list: 25 MB took about 275 MB of memory above the process's own (375 MB peak RSS
with `/usr/bin/time -v manage.py import_people`); streamed, the figure below.
"""

from __future__ import annotations

import os
import tempfile
import time
import tracemalloc

from django.db import connection
from django.test.utils import override_settings, setup_databases, teardown_databases

TARGET_PEAK_MB = 64  # whatever the file's size: a batch, and each external id's first line
TARGET_ROWS_PER_S = 2000  # as people_upsert (bench_seed): 100 000 rows in under a minute


def write_csv(path: str, megabytes: float) -> int:
    """A CSV of about `megabytes` MB of distinct people; returns how many rows it has."""
    target = int(megabytes * 1024 * 1024)
    size = rows = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(
            "external_id,email,phone,name,language,time_zone,segment,joined_on,"
            "attr:plan,attr:region\n"
        )
        while size < target:
            i = rows
            line = (
                f"b-{i:07d},person{i}@example.com,+90 532 {i % 1000:03d} {i % 10000:04d},"
                f"Person Number {i},{'tr' if i % 2 else 'en'},Europe/Istanbul,seg-{i % 7},"
                f"2024-05-{1 + i % 28:02d},{'gold' if i % 3 else 'silver'},region-{i % 11}\r\n"
            )
            out.write(line)
            size += len(line.encode())
            rows += 1
    return rows


def rows() -> list[dict]:
    megabytes = float(os.environ.get("BENCH_IMPORT_MB", "25"))
    connection.settings_dict["TEST"]["NAME"] = f"bench_import_{os.getpid()}"
    old = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        with tempfile.NamedTemporaryFile(suffix=".csv") as handle:
            count = write_csv(handle.name, megabytes)
            elapsed, _summary = _import(handle.name, traced=False)
            peak, summary = _import(handle.name, traced=True)
    finally:
        teardown_databases(old, verbosity=0)
    peak_mb = float(peak) / (1024 * 1024)
    rate = count / elapsed if elapsed else 0.0
    label = f"{megabytes:g} MB CSV, {count:,} people, {connection.vendor}"
    return [
        {
            "name": f"people CSV import peak memory ({label})",
            "value": peak_mb,
            "unit": "MB",
            "target": f"<= {TARGET_PEAK_MB}",
            "ok": summary.startswith(f"{count} rows") and peak_mb <= TARGET_PEAK_MB,
        },
        {
            "name": f"people CSV import ({label})",
            "value": rate,
            "unit": "rows/s",
            "target": f">= {TARGET_ROWS_PER_S:,}",
            "ok": rate >= TARGET_ROWS_PER_S,
        },
    ]


def _import(path: str, *, traced: bool) -> tuple[float, str]:
    """Import the file; returns (seconds, or the traced peak in bytes) and the summary.

    Timed without tracemalloc (it slows Python down several times); rolled back, so the traced
    run writes the same rows as the timed one.
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from audiences.models import Audience, AudienceKind
    from audiences.services.csv_import import people_import_csv

    owner, _created = get_user_model().objects.get_or_create(username="bench-owner")
    audience, _created = Audience.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "kind": AudienceKind.CUSTOMER, "owner": owner}
    )
    # DEBUG (the embedded default) would keep every INSERT's SQL in connection.queries.
    with override_settings(DEBUG=False), transaction.atomic():
        if traced:
            tracemalloc.start()
        started = time.monotonic()
        try:
            with open(path, "rb") as upload:
                report = people_import_csv(audience=audience, file=upload)
            figure = time.monotonic() - started
            if traced:
                figure = tracemalloc.get_traced_memory()[1]
        finally:
            if traced:
                tracemalloc.stop()
        transaction.set_rollback(True)
    return figure, report.summary()
