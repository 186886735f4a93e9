"""Touchpoint events ingested per second through POST /api/v1/events/ in batches of 1,000.

Each batch is 1,000 events with their own idempotency keys for 2,000 people on three
touchpoints, sent as JSON with a Bearer key over HTTP by two clients at once to two sync
gunicorn workers on loopback (one per core, so parsing one batch overlaps PostgreSQL inserting
another). That is the full stack: authentication, throttling, validation, the idempotent bulk
insert and the trigger hook, which enqueues the planning task as in production (here to an
in-memory broker, so no message reaches the configured one). Everything runs in a throwaway
test database. Run alone: `python bench/bench_api.py` (reads DATABASE_URL).
"""

import concurrent.futures
import datetime as dt
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BATCH = 1000
PEOPLE = 2000
WARMUP_BATCHES = 2
MEASURE_SECONDS = 10.0
MAX_BATCHES = 120
WORKERS = 2  # gunicorn workers, and as many clients posting at once: one per core
TARGET_PER_SECOND = 5000
KEY = "xm_be0c4a11_bench-events-ingestion-key-000000000000000000"


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")
    import django

    django.setup()


_handler: Any = None


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """The WSGI app gunicorn serves: the platform on the bench database, Celery in-process."""
    global _handler
    if _handler is None:
        _setup_django()
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connections

        from xmplatform.celery import app as celery_app

        connections["default"].settings_dict["NAME"] = os.environ["BENCH_API_DATABASE"]
        # Trigger planning is enqueued as in production, but to an in-process broker that no
        # worker reads: the bench's event ids must never reach a real worker's database.
        celery_app.conf.task_always_eager = False
        celery_app.conf.broker_url = "memory://"
        _handler = WSGIHandler()
    return _handler(environ, start_response)


def _seed() -> None:
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind, Membership, Person
    from journeys.models import Journey, Stage, Touchpoint, TouchpointChannel
    from xmplatform.api import keys
    from xmplatform.api.models import ApiKey

    owner = get_user_model().objects.create(username="bench-api-owner")
    audience = Audience.objects.create(
        slug="bench-customers", name="Bench customers", kind=AudienceKind.CUSTOMER, owner=owner
    )
    stage = Stage.objects.create(
        journey=Journey.objects.create(audience=audience, name="Bench journey"), name="Support"
    )
    for slug in ("order-delivered", "ticket-closed", "renewal"):
        Touchpoint.objects.create(stage=stage, slug=slug, name=slug, channel=TouchpointChannel.WEB)
    people = Person.objects.bulk_create(
        [Person(external_id=f"bench-api-{i}") for i in range(PEOPLE)], batch_size=1000
    )
    Membership.objects.bulk_create([Membership(person=p, audience=audience) for p in people])
    ApiKey.objects.create(
        name="bench", prefix=KEY.split("_")[1], key_hash=keys.key_hash(KEY), rate_per_minute=10**6
    )


def _bodies(count: int) -> list[bytes]:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    slugs = ("order-delivered", "ticket-closed", "renewal")
    return [
        json.dumps(
            [
                {
                    "person": f"bench-api-{(b * BATCH + i) % PEOPLE}",
                    "touchpoint": slugs[i % 3],
                    "occurred_at": (start + dt.timedelta(seconds=b * BATCH + i)).isoformat(),
                    "idempotency_key": f"bench-{b}-{i}",
                    "attributes": {"order": b * BATCH + i, "value": 49.9},
                }
                for i in range(BATCH)
            ]
        ).encode()
        for b in range(count)
    ]


class _Gunicorn:
    """WORKERS sync gunicorn workers on loopback serving this module's `application`."""

    def __init__(self, database_name: str) -> None:
        import socket
        import subprocess

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {
            **os.environ,
            "BENCH_API_DATABASE": database_name,
            "SECURE_SSL_REDIRECT": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SESSION_COOKIE_SECURE": "0",
        }
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "--chdir",
                str(ROOT),
                "--pythonpath",
                str(ROOT / "bench"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
                "bench_api:application",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.proc.stderr.read().decode()}")
            try:
                if self.get("/api/v1/surveys/")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"Authorization": f"Bearer {KEY}", "Host": "127.0.0.1"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=body, headers=headers)
            reply = conn.getresponse()
            return reply.status, reply.read()
        finally:
            conn.close()

    def get(self, path: str) -> tuple[int, bytes]:
        return self._request("GET", path, None)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self._request("POST", path, body)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - a stuck worker is killed
            self.proc.kill()


def measure() -> dict[str, Any]:
    """Send batches for MEASURE_SECONDS after a warm-up; returns events per second."""
    _setup_django()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from journeys.models import TouchpointEvent

    if connection.vendor != "postgresql":
        raise RuntimeError("bench_api measures PostgreSQL: set DATABASE_URL (make bench does).")
    saved = dict(connection.settings_dict.get("TEST") or {})
    test_settings = connection.settings_dict.setdefault("TEST", {})
    test_settings["NAME"] = f"test_xm_bench_api_{os.getpid()}"
    test_settings["MIGRATE"] = False
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    server: Any = None
    try:
        _seed()
        bodies = _bodies(WARMUP_BATCHES + MAX_BATCHES)
        server = _Gunicorn(connection.settings_dict["NAME"])

        def send(body: bytes) -> None:
            status, reply = server.post("/api/v1/events/", body)
            result = json.loads(reply)
            if status != 200 or result["accepted"] != BATCH:
                raise RuntimeError(f"batch answered {status}: {reply[:300]!r}")

        for body in bodies[:WARMUP_BATCHES]:
            send(body)
        pending = iter(bodies[WARMUP_BATCHES:])
        lock = threading.Lock()
        counts = [0] * WORKERS
        started = time.perf_counter()

        def client(n: int) -> None:
            while time.perf_counter() - started < MEASURE_SECONDS:
                with lock:
                    body = next(pending, None)
                if body is None:
                    return
                send(body)
                counts[n] += BATCH

        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            for future in [pool.submit(client, n) for n in range(WORKERS)]:
                future.result()
        sent = sum(counts)
        elapsed = time.perf_counter() - started
        stored = TouchpointEvent.objects.count()
        if stored != sent + WARMUP_BATCHES * BATCH:
            raise RuntimeError(f"{stored} events stored for {sent + WARMUP_BATCHES * BATCH} sent")
    finally:
        if server is not None:
            server.close()
        connection.close()
        teardown_databases(old_config, verbosity=0)
        connection.settings_dict["TEST"] = saved
    # The machine's load while measuring: other processes share the two cores.
    return {"events": sent, "seconds": elapsed, "rate": sent / elapsed, "load": os.getloadavg()[0]}


def rows() -> list[dict[str, Any]]:
    """Figures for bench/run.py: name, value, unit, target, ok."""
    m = measure()
    return [
        {
            "name": f"API events ingested (POST /api/v1/events/, batches of {BATCH}, "
            f"n={m['events']:,}, load {m['load']:.1f})",
            "value": round(m["rate"], 1),
            "unit": "events/s",
            "target": f">= {TARGET_PER_SECOND:,}",
            "ok": m["rate"] >= TARGET_PER_SECOND,
        }
    ]


if __name__ == "__main__":
    for row in rows():
        print(f"{row['name']}: {row['value']:,} {row['unit']} (target {row['target']})")
