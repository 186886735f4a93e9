"""`GET /healthz` for load balancers and uptime monitors: 200 when healthy, 503 when not.

Checks, each reported in a small JSON body (no counts of people, no error texts):
- database: `SELECT 1`;
- redis: PING with a one-second timeout, when REDIS_URL is set (embedded mode has none);
- outbox: how long the longest-due pending outbox row has waited for the relay, failing past
  settings.HEALTH_OUTBOX_MAX_AGE seconds;
- beat: seconds since beat last sent a periodic task, failing past HEALTH_BEAT_MAX_AGE (with
  REDIS_URL only: embedded mode runs no beat).
A threshold of 0 reports its check without ever failing on it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.db import Error as DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from xmplatform.ops import selectors

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 1.0

Check = dict[str, Any]


def _failed(name: str, exc: BaseException) -> Check:
    """A failed check names the exception's class only: its text may hold hosts or URLs."""
    logger.warning("health check %s failed: %r", name, exc)
    return {"ok": False, "error": type(exc).__name__}


def _timed(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def check_database() -> Check:
    started = time.monotonic()
    try:
        with selectors.bounded_reads():
            selectors.database_ping()
    except DatabaseError as exc:
        return _failed("database", exc)
    return {"ok": True, "ms": _timed(started)}


def check_redis() -> Check:
    url = settings.REDIS_URL
    if not url:
        return {"ok": True, "used": False}
    started = time.monotonic()
    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return _failed("redis", exc)
    finally:
        client.close()
    return {"ok": True, "ms": _timed(started)}


def _within(seconds: float | None, limit: int) -> bool:
    return limit == 0 or (seconds is not None and seconds <= limit)


def check_outbox() -> Check:
    limit = settings.HEALTH_OUTBOX_MAX_AGE
    try:
        with selectors.bounded_reads():
            waited = selectors.outbox_due_lag(now=timezone.now())
    except DatabaseError as exc:
        return _failed("outbox", exc)
    return {"ok": _within(waited, limit), "due_seconds": round(waited), "max_seconds": limit}


def check_beat() -> Check:
    if not settings.REDIS_URL:
        return {"ok": True, "used": False}
    limit = settings.HEALTH_BEAT_MAX_AGE
    try:
        with selectors.bounded_reads():
            ago = selectors.beat_last_run(now=timezone.now())
    except DatabaseError as exc:
        return _failed("beat", exc)
    return {
        "ok": _within(ago, limit),
        "last_run_seconds": None if ago is None else round(ago),
        "max_seconds": limit,
    }


def health() -> tuple[bool, dict[str, Check]]:
    """Run every check; the outbox and beat checks are skipped while the database is down."""
    checks = {"database": check_database(), "redis": check_redis()}
    if checks["database"]["ok"]:
        checks["outbox"] = check_outbox()
        checks["beat"] = check_beat()
    else:
        checks["outbox"] = checks["beat"] = {"ok": False, "error": "database unavailable"}
    return all(check["ok"] for check in checks.values()), checks


def healthz(request: HttpRequest) -> JsonResponse:
    """200 with {"status": "ok", "checks": …} when healthy, 503 with "fail" when not."""
    healthy, checks = health()
    response = JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
    response["Cache-Control"] = "no-store"
    return response
