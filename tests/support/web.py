"""The web process as production runs it: gunicorn (gthread) with DEBUG off, as a subprocess.

Drills point it at their own database or Redis through `env` (see `process_env` in
tests/support/workers.py) and talk to it over HTTP. Static files are collected once per test
session into a temporary folder (`collected_static`): with DEBUG off the manifest storage
needs them, and collecting costs seconds.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.redis_server import free_port
from tests.support.workers import ROOT


def collect_static(target: Path, env: dict[str, str]) -> Path:
    """Run collectstatic into `target` (DEBUG off: hashed names and the manifest)."""
    subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**env, "DEBUG": "0", "STATIC_ROOT": str(target)},
        check=True,
        timeout=120,
    )
    return target


@dataclass
class Web:
    """A running gunicorn: its base URL, process and log file."""

    url: str
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn_web(
    env: dict[str, str], log_dir: Path, *, workers: int = 2, threads: int = 4
) -> Iterator[Web]:
    """Serve the project on a spare loopback port with the Procfile's worker class."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "xmplatform.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--worker-class",
                "gthread",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env={"DEBUG": "0", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    web = Web(url=f"http://127.0.0.1:{port}", proc=proc, log=log)
    try:
        _wait_serving(web)
        yield web
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def _wait_serving(web: Web, timeout: float = 60) -> None:
    """Until any HTTP answer comes back (a status of /healthz may say Redis is down)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited early:\n{web.output()}")
        try:
            requests.get(f"{web.url}/healthz", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn not answering within {timeout}s:\n{web.output()}")
