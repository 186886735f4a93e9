"""`make serve`'s stack (Procfile under honcho) answers a survey end to end over HTTP.

Starts gunicorn, a Celery worker and beat exactly as the Procfile does, on loopback and a free
port, against the test database and the test Redis, with production settings (DEBUG off,
manifest static files collected first). One respondent opens an invitation, posts the answer
with the CSRF token and sees the thank-you page; then the stack is stopped and every process
must be gone.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from surveys.models import Question, QuestionType, Response
from tests.support import workers
from tests.surveys.test_hosted_support import invite, make_survey

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTED = re.compile(rb"(web|worker|beat)\.1 started \(pid=(\d+)\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str, log: Path) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout:.0f} s:\n{log.read_text(errors='replace')}")


def alive(pid: int) -> bool:
    """Whether any process of the group `pid` leads still runs."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def serve_env(port: int, static_root: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": workers.test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY,  # tokens made here must open there
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "CONN_MAX_AGE": "0",  # the test database is dropped at the end
        "STATIC_ROOT": str(static_root),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        "CELERY_CONCURRENCY": "1",
    }


def test_procfile_stack_completes_a_survey_over_http(tmp_path: Path) -> None:
    survey = make_survey(languages=["en"], default_language="en")
    Question.objects.create(
        survey=survey, key="nps", type=QuestionType.NPS, page=1, order=1, label={"en": "Score?"}
    )
    invitation, token = invite(survey, language="en")
    port = free_port()
    env = serve_env(port, tmp_path / "static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    workers.purge_broker()
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "--no-colour", "start", "-f", "Procfile"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    pids: dict[str, int] = {}
    try:

        def up() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=3).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, 30, "gunicorn answering /healthz", log)
        wait_for(lambda: b"ready." in log.read_bytes(), 30, "the Celery worker", log)
        wait_for(lambda: b"beat: Starting" in log.read_bytes(), 30, "Celery beat", log)
        pids = {m[0].decode(): int(m[1]) for m in STARTED.findall(log.read_bytes())}
        assert set(pids) == {"web", "worker", "beat"}

        browser = requests.Session()
        page = browser.get(f"{base}/s/{token}/", timeout=10)
        assert page.status_code == 200
        assert "Score?" in page.text
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page.text)[1]
        assert re.fullmatch(r"/static/surveys/survey\.[0-9a-f]{12}\.css", stylesheet)
        css = browser.get(f"{base}{stylesheet}", timeout=10)
        assert css.status_code == 200 and "max-age" in css.headers["Cache-Control"]
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]

        answered = browser.post(
            f"{base}/s/{token}/",
            data={"csrfmiddlewaretoken": csrf, "page": "1", "lang": "en", "q-nps": "9"},
            timeout=10,
        )

        assert answered.status_code == 200
        assert answered.url == f"{base}/s/{token}/?done=1&lang=en"
        assert '<h2 id="message-heading">Thanks a lot!</h2>' in answered.text
        response = Response.objects.get(invitation=invitation)
        assert response.completed_on is not None
        assert list(response.answers.values_list("question__key", "number")) == [("nps", 9)]
    finally:
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=25)
        except subprocess.TimeoutExpired:
            for pid in [*pids.values(), honcho.pid]:
                if alive(pid):
                    os.killpg(pid, signal.SIGKILL)
            honcho.wait()

    output = log.read_text(errors="replace")
    assert honcho.returncode == 143, output  # honcho's exit status after a SIGTERM
    for name, pid in pids.items():
        assert f"{name}.1 stopped" in output, output
        assert not alive(pid), f"{name} left processes behind"
