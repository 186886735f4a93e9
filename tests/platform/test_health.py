"""GET /healthz: 200 when the database, Redis, the outbox relay and beat are fine, else 503."""

import datetime as dt
import socket

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.ops import health, selectors

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def beat_ran(ago: dt.timedelta, name: str = "some-periodic-task") -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(
        name=name, task="xmplatform.tasks.noop", interval=every, last_run_at=NOW - ago
    )


def pending(*, available: dt.timedelta, created: dt.timedelta | None = None) -> OutboxMessage:
    return OutboxMessage.objects.create(
        event="response.completed",
        handler="tests.handler",
        payload={"response_id": 1},
        available_at=NOW - available,
        created_at=NOW - (created or available),
    )


def json_without_timings(page) -> dict:  # noqa: ANN001
    body = page.json()
    for check in body["checks"].values():
        check.pop("ms", None)
    return body


def test_it_answers_200_when_everything_is_fine(client, settings) -> None:  # noqa: ANN001
    beat_ran(30 * SECOND)
    pending(available=-60 * SECOND)  # a handler's backoff: not due yet

    page = client.get("/healthz")

    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    redis = {"ok": True} if settings.REDIS_URL else {"ok": True, "used": False}
    beat = (
        {"ok": True, "last_run_seconds": 30, "max_seconds": 600}
        if settings.REDIS_URL
        else {"ok": True, "used": False}
    )
    assert json_without_timings(page) == {
        "status": "ok",
        "checks": {
            "database": {"ok": True},
            "redis": redis,
            "outbox": {"ok": True, "due_seconds": 0, "max_seconds": 600},
            "beat": beat,
        },
    }


def test_it_answers_503_when_a_pending_outbox_row_waited_past_the_threshold(client) -> None:  # noqa: ANN001
    beat_ran(30 * SECOND)
    pending(available=601 * SECOND)

    page = client.get("/healthz")

    assert page.status_code == 503
    body = json_without_timings(page)
    assert body["status"] == "fail"
    assert body["checks"]["outbox"] == {"ok": False, "due_seconds": 601, "max_seconds": 600}
    assert body["checks"]["database"] == {"ok": True}


def test_a_row_due_exactly_the_threshold_ago_is_still_healthy(client) -> None:  # noqa: ANN001
    beat_ran(30 * SECOND)
    pending(available=600 * SECOND, created=3600 * SECOND)

    page = client.get("/healthz")

    assert page.status_code == 200
    assert page.json()["checks"]["outbox"] == {"ok": True, "due_seconds": 600, "max_seconds": 600}


def test_done_and_dead_rows_do_not_count_as_waiting(client) -> None:  # noqa: ANN001
    beat_ran(30 * SECOND)
    for state in (OutboxState.DONE, OutboxState.DEAD):
        row = pending(available=7200 * SECOND)
        OutboxMessage.objects.filter(pk=row.pk).update(state=state)

    page = client.get("/healthz")

    assert page.status_code == 200
    assert page.json()["checks"]["outbox"]["due_seconds"] == 0


def test_a_zero_threshold_reports_the_outbox_without_failing(client, settings) -> None:  # noqa: ANN001
    settings.HEALTH_OUTBOX_MAX_AGE = 0
    beat_ran(30 * SECOND)
    pending(available=7200 * SECOND)

    page = client.get("/healthz")

    assert page.status_code == 200
    assert page.json()["checks"]["outbox"] == {"ok": True, "due_seconds": 7200, "max_seconds": 0}


def test_it_answers_503_when_redis_is_unreachable(client, settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/6"
    beat_ran(30 * SECOND)

    page = client.get("/healthz")

    assert page.status_code == 503
    body = json_without_timings(page)
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["checks"]["beat"] == {"ok": True, "last_run_seconds": 30, "max_seconds": 600}
    assert "127.0.0.1" not in page.content.decode()


def test_it_answers_503_when_the_database_cannot_answer(client, monkeypatch) -> None:  # noqa: ANN001
    def down() -> None:
        raise OperationalError("connection to server at 10.0.0.5 failed")

    monkeypatch.setattr(selectors, "database_ping", down)

    page = client.get("/healthz")

    assert page.status_code == 503
    checks = page.json()["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["outbox"] == checks["beat"] == {"ok": False, "error": "database unavailable"}
    assert "10.0.0.5" not in page.content.decode()


def test_beat_fails_past_its_threshold(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = "redis://redis.example:6379/0"  # the beat check reads only the database
    beat_ran(601 * SECOND)

    assert health.check_beat() == {"ok": False, "last_run_seconds": 601, "max_seconds": 600}


def test_beat_that_never_ran_fails(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = "redis://redis.example:6379/0"

    assert health.check_beat() == {"ok": False, "last_run_seconds": None, "max_seconds": 600}


def test_the_latest_of_two_beats_counts(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = "redis://redis.example:6379/0"
    beat_ran(900 * SECOND, name="one")
    beat_ran(200 * SECOND, name="two")

    assert health.check_beat() == {"ok": True, "last_run_seconds": 200, "max_seconds": 600}


def test_a_beat_that_just_started_counts_as_run(settings) -> None:  # noqa: ANN001
    """Beat records its sends every three minutes, but rewrites its schedule when it starts."""
    settings.REDIS_URL = "redis://redis.example:6379/0"
    entry = beat_ran(dt.timedelta(days=3), name=next(iter(settings.CELERY_BEAT_SCHEDULE)))
    PeriodicTask.objects.filter(pk=entry.pk).update(date_changed=NOW - 5 * SECOND)
    beat_ran(dt.timedelta(days=2), name="a-wave-rule")

    assert health.check_beat() == {"ok": True, "last_run_seconds": 5, "max_seconds": 600}


def test_disabled_tasks_do_not_count(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = "redis://redis.example:6379/0"
    beat_ran(900 * SECOND, name="enabled")
    PeriodicTask.objects.filter(pk=beat_ran(10 * SECOND, name="off").pk).update(enabled=False)

    assert health.check_beat()["last_run_seconds"] == 900


def test_embedded_mode_reports_redis_and_beat_as_not_used(settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = ""

    assert health.check_redis() == {"ok": True, "used": False}
    assert health.check_beat() == {"ok": True, "used": False}


def test_it_answers_a_host_that_allowed_hosts_does_not_list(client, settings) -> None:  # noqa: ANN001
    """Load balancers probe a process by its address."""
    settings.ALLOWED_HOSTS = ["xm.example.com"]
    settings.REDIS_URL = ""

    assert client.get("/healthz", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400


def test_it_is_not_redirected_to_https(client, settings) -> None:  # noqa: ANN001
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = ""

    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/login/").status_code == 301


def test_it_refuses_writes(client) -> None:  # noqa: ANN001
    page = client.post("/healthz")

    assert page.status_code == 405
    assert page["Allow"] == "GET, HEAD"


def test_its_reads_are_bounded(django_assert_num_queries, settings) -> None:  # noqa: ANN001
    settings.REDIS_URL = ""
    # database: SELECT 1; outbox: the first pending row on the partial index (due order).
    # Each runs in a transaction of its own (a savepoint and its release here), after one
    # set_config of the statement timeout on PostgreSQL.
    per_check = 4 if connection.vendor == "postgresql" else 3
    with django_assert_num_queries(2 * per_check):
        healthy, _ = health.health()
    assert healthy
