"""Load on the hosted survey page: wrk, 200 connections, against `make serve`'s stack.

Starts the Procfile (gunicorn with its production defaults, a Celery worker and beat) under
honcho on loopback, against a throwaway PostgreSQL database and the configured Redis, with
DEBUG off and collected static files; then wrk opens BENCH_LOAD_CONNECTIONS (default 200)
connections on one invitation's survey page for BENCH_LOAD_SECONDS (default 20). The rate
limits stay on, raised out of reach, so their Redis round trips are part of the figures.
Reports throughput, p50/p99 latency, 5xx responses (must be zero) and socket errors.

wrk is Debian's `wrk` package; when it is missing and we run as root it is installed with
apt-get, otherwise the row says how. Run alone: `python bench/bench_load.py`.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

BIN = Path(sys.executable).parent
THROUGHPUT_TARGET = 150.0  # requests/s on two shared cores, wrk included
P99_TARGET_MS = 2000.0
UNREACHABLE = "100000000/m"

WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) s5 = 0; s4 = 0 end
function response(status, headers, body)
  if status >= 500 then s5 = s5 + 1 elseif status >= 400 then s4 = s4 + 1 end
end
function done(summary, latency, requests)
  local t5, t4 = 0, 0
  for _, thread in ipairs(threads) do t5 = t5 + thread:get("s5"); t4 = t4 + thread:get("s4") end
  local e = summary.errors
  io.write(string.format("XM requests=%d seconds=%.3f s5=%d s4=%d p50=%d p99=%d errors=%d\\n",
    summary.requests, summary.duration / 1e6, t5, t4, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.timeout))
end
"""
RESULT = re.compile(
    r"XM requests=(\d+) seconds=([\d.]+) s5=(\d+) s4=(\d+) p50=(\d+) p99=(\d+) errors=(\d+)"
)


def _row(name: str, value: Any, unit: str, target: Any, ok: bool) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def _wrk() -> str | None:
    """The wrk executable, installed with apt-get when missing and we may."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True, timeout=300
    )
    return shutil.which("wrk")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    cfg = connection.settings_dict
    auth = cfg.get("USER") or ""
    if cfg.get("PASSWORD"):
        auth += f":{cfg['PASSWORD']}"
    host = cfg.get("HOST") or "127.0.0.1"
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{cfg['NAME']}"


def _survey_token() -> str:
    """A live one-page survey (NPS + comment) and one sent invitation; returns its token."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind, Channel, Person
    from surveys import services
    from surveys.models import InvitationState, Question, QuestionType, Survey, SurveyStatus

    owner = get_user_model().objects.create(username="bench-load")
    audience = Audience.objects.create(
        slug="customers", name="Customers", kind=AudienceKind.CUSTOMER, owner=owner
    )
    survey = Survey.objects.create(
        audience=audience,
        name="Load",
        status=SurveyStatus.LIVE,
        title={"en": "Your visit"},
        languages=["en"],
        default_language="en",
    )
    Question.objects.create(
        survey=survey, key="nps", type=QuestionType.NPS, page=1, order=1, label={"en": "Score?"}
    )
    Question.objects.create(
        survey=survey, key="comment", type=QuestionType.TEXT, page=1, order=2, required=False
    )
    person = Person.objects.create(external_id="load-1", email="load@example.com", language="en")
    _invitation, token = services.invitation_create(
        survey=survey, person=person, channel=Channel.EMAIL, state=InvitationState.SENT
    )
    return token


def _stack_env(port: int, static_root: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "STATIC_ROOT": static_root,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "RATE_LIMIT_ENABLED": "1",
        "HOSTED_RATE_LIMIT_PER_IP": UNREACHABLE,
        "HOSTED_RATE_LIMIT_PER_LINK": UNREACHABLE,
    }


def _run_load(url: str, wrk: str, connections: int, seconds: int) -> re.Match[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        # A short warm-up: every gunicorn thread opens its database connection.
        subprocess.run(
            [wrk, "-t2", "-c20", "-d3s", url], check=True, capture_output=True, timeout=60
        )
        result = subprocess.run(
            [wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s"]
            + ["--timeout", "10s", "-s"]
            + [script.name, url],
            check=True,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
        )
    finally:
        os.unlink(script.name)
    match = RESULT.search(result.stdout)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")
    return match


def rows() -> list[dict[str, Any]]:
    """Start the stack, run wrk, stop the stack; returns the bench rows."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        return [
            _row("load: needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL)", 0, "", "-", False)
        ]
    wrk = _wrk()
    if wrk is None:
        return [_row("load: wrk missing (sudo apt-get install wrk)", 0, "", "-", False)]
    connections = int(os.environ.get("BENCH_LOAD_CONNECTIONS", "200"))
    seconds = int(os.environ.get("BENCH_LOAD_SECONDS", "20"))
    connection.settings_dict["TEST"]["NAME"] = "bench_load_xm"
    old = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    static_root = tempfile.mkdtemp(prefix="xm-bench-static-")
    honcho = None
    try:
        token = _survey_token()
        connection.close()
        port = _free_port()
        env = _stack_env(port, static_root)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=180,
        )
        log = open(Path(static_root) / "honcho.log", "wb")  # noqa: SIM115 - closed below
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "--no-colour", "start", "-f", "Procfile"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=3).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or honcho.poll() is not None:
                raise RuntimeError(Path(log.name).read_text(errors="replace")[-3000:])
            time.sleep(0.3)
        page = requests.get(f"{base}/s/{token}/", timeout=10)
        if page.status_code != 200 or "Score?" not in page.text:
            raise RuntimeError(f"the survey page answered {page.status_code}")
        result = _run_load(f"{base}/s/{token}/", wrk, connections, seconds)
        # The machine's load while measuring: other processes share the cores.
        load = os.getloadavg()[0]
    finally:
        if honcho is not None:
            honcho.send_signal(signal.SIGTERM)
            try:
                honcho.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
                honcho.wait()
            log.close()
        shutil.rmtree(static_root, ignore_errors=True)
        connection.close()
        teardown_databases(old, verbosity=0)
    requests_done, duration, s5, s4, p50, p99, errors = (
        float(g) if "." in g else int(g) for g in result.groups()
    )
    throughput = requests_done / duration
    label = f"load: survey page, {connections} connections, {seconds} s (load {load:.1f})"
    return [
        _row(
            f"{label}, throughput",
            throughput,
            "req/s",
            f">= {THROUGHPUT_TARGET:.0f}",
            throughput >= THROUGHPUT_TARGET,
        ),
        _row(f"{label}, p50 latency", p50 / 1000, "ms", "-", True),
        _row(
            f"{label}, p99 latency",
            p99 / 1000,
            "ms",
            f"< {P99_TARGET_MS:.0f}",
            p99 / 1000 < P99_TARGET_MS,
        ),
        _row(f"{label}, 5xx responses", s5, "", "0", s5 == 0),
        _row(f"{label}, 4xx responses", s4, "", "0", s4 == 0),
        _row(f"{label}, socket errors", errors, "", "0", errors == 0),
    ]


if __name__ == "__main__":
    from bench.run import render

    print(render(rows()))
