"""Wave planning + guarding at scale, against a hand-written INSERT … SELECT floor (PostgreSQL).

Seeds BENCH_MEMBERSHIPS members (default 1,000,000) and as many earlier invitations (with their
contact-ledger entries) set-based into a throwaway database, then times `wave_run` (stream
the audience, the guard's query per chunk, insert) against one hand-written statement that
writes the same number of rows with the same indexes and a frequency join. Also reports the
process's peak memory, and e-mail sends per second to a local SMTP sink, from one process and
from two real Celery workers (BENCH_SENDS messages, default 6,000), drained from the backlog
the wave planned. Each timed row names the load average it ran under: the cores are shared.
Run through bench/run.py or `python bench/bench_distribution.py`.
"""

import asyncio
import datetime
import os
import resource
import socket
import sys
import threading
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
    teardown_databases,
)
from django.utils import timezone  # noqa: E402

DEFAULT_MEMBERSHIPS = 1_000_000
TARGET_RATIO = 2.5
TARGET_MB = 300
SENDS_TARGET = 300

SEED = """
INSERT INTO audiences_person (external_id, email, phone, name, language, time_zone,
                              created_at, updated_at)
SELECT 'b' || g, 'b' || g || '@example.com', '', '', 'en', 'UTC', now(), now()
FROM generate_series(1, %(n)s) g;
INSERT INTO audiences_membership (person_id, audience_id, segment, attributes)
SELECT id, %(audience)s, '', '{}'::jsonb FROM audiences_person;
INSERT INTO surveys_invitation (survey_id, person_id, channel, nonce, token_hash, state,
    suppression_reason, language, planned_at, due_at, sent_at, attempts, message_id,
    reminders_sent, defer_count, last_defer_reason)
SELECT %(old)s, p.id, 'email', md5('n' || g), md5('h' || g) || md5('x' || g), 'sent', '', 'en',
       now() - (g %% 60) * interval '1 day', now() - (g %% 60) * interval '1 day',
       now() - (g %% 60) * interval '1 day', 1, '', 0, 0, ''
FROM generate_series(1, %(n)s) g
JOIN audiences_person p ON p.external_id = 'b' || ((g::bigint * 7919) %% %(n)s + 1);
INSERT INTO surveys_contactledger (person_id, invitation_id, survey_id, kind, channel, at)
SELECT person_id, id, survey_id, 'invitation', 'email', sent_at FROM surveys_invitation;
ANALYZE;
"""

# The floor: every member, the frequency join over the ledger, one row each, one statement.
FLOOR = """
INSERT INTO surveys_invitation (survey_id, rule_id, person_id, channel, nonce, token_hash,
    state, suppression_reason, language, planned_at, due_at, expires_at, attempts, message_id,
    reminders_sent, defer_count, last_defer_reason)
SELECT %(survey)s, NULL, m.person_id, 'email', md5(random()::text), md5(random()::text)
       || md5(m.person_id::text),
       CASE WHEN coalesce(f.n, 0) >= 2 OR f.last > now() - interval '7 days'
            THEN 'suppressed' ELSE 'planned' END,
       CASE WHEN f.last > now() - interval '7 days' THEN 'min_gap'
            WHEN coalesce(f.n, 0) >= 2 THEN 'frequency_cap' ELSE '' END,
       p.language, now(), now(), now() + interval '14 days', 0, '', 0, 0, ''
FROM audiences_membership m
JOIN audiences_person p ON p.id = m.person_id
LEFT JOIN (
    SELECT person_id, count(*) AS n, max(at) AS last FROM surveys_contactledger
    WHERE kind = 'invitation' AND at > now() - interval '30 days' GROUP BY person_id
) f ON f.person_id = m.person_id
WHERE m.audience_id = %(audience)s AND m.left_on IS NULL
"""


def _row(name: str, value: float, unit: str, target: float | None, ok: bool) -> dict[str, Any]:
    return {"name": name, "value": round(value, 2), "unit": unit, "target": target, "ok": ok}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _workers_peak_mb(pids: list[int]) -> float:
    """The highest peak RSS (VmHWM) among worker processes and their pool children (Linux)."""
    proc = Path("/proc")
    tree, found = set(pids), True
    while found:
        found = False
        for stat in proc.glob("[0-9]*/stat"):
            try:
                pid, parent = (
                    int(stat.parent.name),
                    int(stat.read_text().rsplit(")", 1)[1].split()[1]),
                )
            except (OSError, ValueError, IndexError):
                continue  # the process ended meanwhile
            if parent in tree and pid not in tree:
                tree.add(pid)
                found = True
    peak = 0
    for pid in tree:
        try:
            for line in (proc / str(pid) / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


def _run(n: int) -> tuple[int, list[dict[str, Any]]]:
    from django.contrib.auth import get_user_model

    from audiences.models import Audience
    from surveys.distribution.planning import wave_run
    from surveys.models import DistributionRule, Survey, SurveyStatus

    owner = get_user_model().objects.create_user(username="bench")
    audience = Audience.objects.create(slug="bench", name="Bench", kind="customer", owner=owner)
    old = Survey.objects.create(audience=audience, name="Earlier", status=SurveyStatus.LIVE)
    survey = Survey.objects.create(audience=audience, name="Wave", status=SurveyStatus.LIVE)
    floor_survey = Survey.objects.create(audience=audience, name="Floor", status=SurveyStatus.LIVE)
    rule = DistributionRule.objects.create(
        survey=survey, name="Wave", kind="wave", channels=["email"]
    )
    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(SEED, {"n": n, "audience": audience.pk, "old": old.pk})
    seed_s = time.perf_counter() - start

    start = time.perf_counter()
    plan = wave_run(rule=rule, now=timezone.now())
    wave_s = time.perf_counter() - start
    wave_load = os.getloadavg()[0]  # other processes share the cores
    peak = _peak_mb()

    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(FLOOR, {"survey": floor_survey.pk, "audience": audience.pk})
        floor_rows = cur.rowcount
    floor_s = time.perf_counter() - start
    floor_load = os.getloadavg()[0]
    assert floor_rows == plan.candidates == n, (floor_rows, plan.candidates, n)  # noqa: S101

    ratio = wave_s / floor_s
    return plan.planned, [
        _row(
            f"distribution: seed {n:,} members + {n:,} earlier invitations", seed_s, "s", None, True
        ),
        _row(
            f"distribution: wave plan+guard {n:,} members ({plan.planned:,} planned, "
            f"{plan.suppressed_total:,} suppressed, load {wave_load:.1f})",
            wave_s,
            "s",
            None,
            True,
        ),
        _row(
            f"distribution: hand-written INSERT … SELECT floor (load {floor_load:.1f})",
            floor_s,
            "s",
            None,
            True,
        ),
        _row("distribution: wave / floor", ratio, "×", TARGET_RATIO, ratio <= TARGET_RATIO),
        _row("distribution: wave rows per second", n / wave_s, "rows/s", None, True),
        _row(
            "distribution: peak memory of the process planning the wave",
            peak,
            "MB",
            TARGET_MB,
            peak < TARGET_MB,
        ),
    ]


class _SinkProtocol(asyncio.Protocol):
    """One SMTP session: replies to each command, counts each message by X-Invitation-ID."""

    def __init__(self, received: list[str]) -> None:
        self.received = received
        self.buffer = b""
        self.in_data = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None  # noqa: S101
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    break
                self._count(self.buffer[:end])
                self.buffer = self.buffer[end + 5 :]
                self.in_data = False
                replies.append(b"250 OK\r\n")
                continue
            end = self.buffer.find(b"\r\n")
            if end < 0:
                break
            verb = self.buffer[:4].upper()
            self.buffer = self.buffer[end + 2 :]
            if verb == b"EHLO":
                replies.append(b"250-sink\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"".join([*replies, b"221 Bye\r\n"]))
                self.transport.close()
                return
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                replies.append(b"250 OK\r\n")
            else:
                replies.append(b"502 Command not implemented\r\n")
        if replies:
            self.transport.write(b"".join(replies))

    def _count(self, content: bytes) -> None:
        for line in content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            if line[:16].lower() == b"x-invitation-id:":
                self.received.append(line[16:].strip().decode())
                return


class _Sink:
    """A local SMTP server in a thread, counting what it receives by X-Invitation-ID.

    A few dozen lines of asyncio rather than aiosmtpd: aiosmtpd reads a message line by line
    and tops out near 300–400 messages/s on this machine with a client that does nothing but
    send, so it measured itself. A deployment's relay (Postfix, an ESP) accepts thousands per
    second; this one speaks the same SMTP over TCP, one round trip per command, and costs the
    senders the same.
    """

    def __init__(self) -> None:
        self.received: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> "_Sink":
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            self.loop.create_server(lambda: _SinkProtocol(self.received), sock=self.sock),
            self.loop,
        ).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.sock.close()


def _no_quiet_hours() -> None:
    """A global policy as the default one, without quiet hours: the hour the bench runs at
    must not defer the sends it measures."""
    from surveys.models import FatiguePolicy

    FatiguePolicy.objects.update_or_create(
        audience=None, defaults={"quiet_start": datetime.time(0), "quiet_end": datetime.time(0)}
    )


def _sends_per_second(count: int) -> dict[str, Any]:
    """E-mail sends per second from one process through dispatch batches to a local sink."""
    from surveys.distribution import sending

    with _Sink() as sink:
        smtp = {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": sink.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }
        with override_settings(**smtp):
            start = time.perf_counter()
            for _ in range(-(-count // sending.BATCH)):
                sending.dispatch_batch(now=timezone.now())
            elapsed = time.perf_counter() - start
    rate = len(sink.received) / elapsed
    load = os.getloadavg()[0]
    return _row(
        f"distribution: e-mail sends/s, 1 process ({len(sink.received):,} to a local sink, "
        f"load {load:.1f})",
        rate,
        "msg/s",
        None,
        True,
    )


def _sends_with_workers(count: int, workers: int = 2) -> list[dict[str, Any]]:
    """E-mail sends per second with real Celery workers (Redis broker) to a local sink.

    The workers start first; the clock runs from enqueueing the batch tasks (what one beat
    tick of dispatch_due_task fans out) until the sink holds every message.
    """
    from django.conf import settings

    from surveys.distribution import sending
    from surveys.tasks import dispatch_batch_task
    from tests.support.workers import celery_workers

    if not settings.REDIS_URL:
        return [_row("distribution: sends with workers need REDIS_URL", 0, "", None, False)]
    with _Sink() as sink:
        env = {"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}", "LOG_LEVEL": "WARNING"}
        with celery_workers(workers, queues="bulk", extra_env=env) as procs:
            start = time.perf_counter()
            for _ in range(-(-count // sending.BATCH)):
                dispatch_batch_task.apply_async(queue="bulk")
            deadline = time.monotonic() + max(120.0, count / 20)
            while len(sink.received) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.perf_counter() - start
            load = os.getloadavg()[0]
            peak = _workers_peak_mb([p.pid for p in procs])
    sent = len(sink.received)
    duplicates = sent - len(set(sink.received))
    rate = sent / elapsed
    return [
        _row(
            f"distribution: e-mail sends/s, {workers} Celery workers "
            f"({sent:,} of {count:,} to a local sink, connection reuse, load {load:.1f})",
            rate,
            "msg/s",
            SENDS_TARGET,
            rate >= SENDS_TARGET and sent == count,
        ),
        _row("distribution: duplicate messages at the sink", duplicates, "", 0, duplicates == 0),
        _row(
            "distribution: peak memory of a sending worker", peak, "MB", TARGET_MB, peak < TARGET_MB
        ),
    ]


def rows() -> list[dict[str, Any]]:
    """Seed, plan a wave, time the floor; returns the bench rows."""
    if connection.vendor != "postgresql":
        return [_row("distribution: needs PostgreSQL (set DATABASE_URL)", 0, "", None, False)]
    n = int(os.environ.get("BENCH_MEMBERSHIPS", DEFAULT_MEMBERSHIPS))
    connection.settings_dict["TEST"]["NAME"] = f"bench_distribution_{os.getpid()}"
    # Tables straight from the models (as the test runs do): the schema includes every field.
    no_migrations = {app.label: None for app in apps.get_app_configs()}
    with override_settings(MIGRATION_MODULES=no_migrations):
        old = setup_databases(
            verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
        )
    try:
        planned, out = _run(n)
        # The sends drain the wave's backlog: claims find their batch among every invitation
        # it planned, as they would after a real wave.
        _no_quiet_hours()
        sends = min(planned * 3 // 4, int(os.environ.get("BENCH_SENDS", "6000")))
        out.append(_sends_per_second(sends // 3))
        out.extend(_sends_with_workers(sends))
        return out
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    for r in rows():
        print(f"{r['name']:<90} {r['value']:>12} {r['unit']:<7} target={r['target']} ok={r['ok']}")
