"""Start real Celery worker processes against the test database and the Redis broker."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """DATABASE_URL for the database the current test uses (pytest-django's test_… copy)."""
    cfg = connection.settings_dict
    user = cfg.get("USER") or ""
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = cfg.get("HOST") or "127.0.0.1"
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{cfg['NAME']}"


def purge_broker(broker_url: str | None = None) -> None:
    """Drop queued messages a previous run may have left behind (default: the test Redis)."""
    from xmplatform.celery import app

    with app.connection_for_write(broker_url) as conn:
        for queue in ("default", "bulk"):
            try:
                conn.default_channel.queue_purge(queue)
            except Exception:  # noqa: BLE001, S110 - the queue may simply not exist yet
                pass


def process_env(
    *, database_url: str | None = None, redis_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a web, worker or beat process of the test: the test database and
    Redis unless given, this process's SECRET_KEY (tokens made here must open there), no
    persistent connections (the test database is dropped at the end), then `extra`."""
    return {
        **os.environ,
        "DATABASE_URL": database_url or test_database_url(),
        "REDIS_URL": redis_url or settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "CONN_MAX_AGE": "0",
        **extra,
    }


@contextmanager
def celery_workers(
    count: int = 1,
    *,
    concurrency: int = 1,
    queues: str = "default,bulk",
    extra_env: dict | None = None,
    env: dict[str, str] | None = None,
    pool: str = "prefork",
) -> Iterator[list[subprocess.Popen]]:
    """Run `count` worker processes (`celery -A xmplatform worker`) until the block ends.

    `env` replaces the whole environment (see `process_env`, e.g. for a drill's own Redis or
    database); by default it is the test database and Redis plus `extra_env`.
    """
    if env is None:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "CONN_MAX_AGE": "0",
            **(extra_env or {}),
        }
    purge_broker(env["REDIS_URL"])
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        for i in range(count):
            log = open(ROOT / f".worker-{os.getpid()}-{i}.log", "w+b")  # noqa: SIM115
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "xmplatform",
                        "worker",
                        "--loglevel=INFO",
                        f"--concurrency={concurrency}",
                        f"--pool={pool}",
                        "-Q",
                        queues,
                        "-n",
                        f"test{i}-{os.getpid()}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_ready(procs, logs)
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
            Path(log.name).unlink(missing_ok=True)


def _wait_ready(
    procs: list[subprocess.Popen], logs: list, timeout: float = 60, marker: bytes = b"ready."
) -> None:
    deadline = time.monotonic() + timeout
    pending = set(range(len(procs)))
    while pending and time.monotonic() < deadline:
        for i in list(pending):
            if procs[i].poll() is not None:
                logs[i].seek(0)
                raise RuntimeError(f"Celery process {i} exited early:\n{logs[i].read().decode()}")
            logs[i].seek(0)
            if marker in logs[i].read():
                pending.discard(i)
        time.sleep(0.2)
    if pending:
        logs[0].seek(0)
        raise RuntimeError(f"Celery processes not ready in {timeout}s:\n{logs[0].read().decode()}")


@contextmanager
def celery_beats(count: int, env: dict[str, str], log_dir: Path) -> Iterator[list[Path]]:
    """Run `count` beat processes (django-celery-beat's database schedule) until the block
    ends; yields their log files. More than one is the deployment mistake the drills show."""
    procs: list[subprocess.Popen] = []
    logs = []
    try:
        for i in range(count):
            log = (log_dir / f"beat-{i}.log").open("w+b")
            logs.append(log)
            procs.append(
                subprocess.Popen(  # noqa: S603 - our own celery app
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "xmplatform",
                        "beat",
                        "--loglevel=INFO",
                        "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
                        f"--pidfile={log_dir / f'beat-{i}.pid'}",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        _wait_ready(procs, logs, marker=b"beat: Starting")
        yield [Path(log.name) for log in logs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


def wait_until(predicate, timeout: float = 60, interval: float = 0.2) -> bool:  # noqa: ANN001
    """Poll `predicate` until it is truthy or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
