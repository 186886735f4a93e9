"""Hosted survey submissions and whole visits per second through the full Django stack,
against a floor.

The floor is a minimal view behind the same middleware that inserts one row. The hosted figure
is a complete one-page survey submission (NPS + comment) on its invitation link: the rate
limits, CSRF, token lookup, questions, availability checks, validation, the invitation claim,
response and answers inserts (on PostgreSQL one statement), the completion announcement. A
visit is what a respondent does: GET the page, POST the answers, for each screen, in both
presentations (the two questions on one page; one question at a time, two screens). Floor and
hosted requests alternate, so a load spike on a shared machine hits both alike. Both run in a
throwaway test database (never the configured one), about 15 s in all.

With PostgreSQL the requests go over HTTP to one sync gunicorn worker on loopback; with SQLite
(in-memory test database) through Django's test Client. BENCH_HOSTED_TRANSPORT=client|gunicorn
chooses explicitly. Run alone: `python bench/bench_hosted.py` (reads DATABASE_URL as usual).

Each completion publishes its announcement task to the broker, as in production, but into a
queue of the bench's own that no worker reads, deleted at the end: a worker of a test run
sharing the Redis never runs them against its own database. BENCH_HOSTED_SECONDS shortens the
measured time for a quick look (the figure to report uses the default).
"""

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WARMUP = 30
MEASURE_SECONDS = float(os.environ.get("BENCH_HOSTED_SECONDS", "12"))
MAX_REQUESTS = 3000
RATIO_TARGET = 0.60  # the POST alone
VISIT_TARGET = 0.40  # GET + POST, each screen of the visit
P99_TARGET_MS = 100.0
BENCH_IP_RATE = "1000000/m"

_floor_counter = 0


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xmplatform.settings")
    import django

    django.setup()


def floor_view(request: Any) -> Any:
    """The floor: one INSERT and an empty 200, behind the same middleware."""
    from django.http import HttpResponse

    from audiences.models import Person

    global _floor_counter
    _floor_counter += 1
    Person.objects.create(external_id=f"bench-floor-{os.getpid()}-{_floor_counter}")
    return HttpResponse(b"ok", content_type="text/plain")


def _urlpatterns() -> list:
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [
        path("bench-floor/", csrf_exempt(floor_view)),
        path("", include("xmplatform.urls")),
    ]


class _Urls:
    """A URLconf object: the platform's URLs plus the floor view."""

    @property
    def urlpatterns(self) -> list:
        return _urlpatterns()


def _make_invitations(
    count: int, presentation: str = "pages", tag: str = "post"
) -> tuple[Any, list[str]]:
    """A live one-page survey and `count` sent invitations (bulk, tokens kept in memory)."""
    from django.contrib.auth import get_user_model

    from audiences.models import Audience, AudienceKind, Channel, Person
    from surveys import tokens
    from surveys.models import Invitation, InvitationState, Question, QuestionType, Survey

    owner, _new = get_user_model().objects.get_or_create(username="bench-owner")
    audience, _new = Audience.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "kind": AudienceKind.CUSTOMER, "owner": owner}
    )
    survey = Survey.objects.create(
        audience=audience,
        name=f"Bench {tag}",
        status="live",
        title={"en": "Bench", "tr": "Bench"},
        presentation=presentation,
    )
    Question.objects.create(
        survey=survey, key="nps", type=QuestionType.NPS, page=1, order=1, label={"en": "NPS"}
    )
    Question.objects.create(
        survey=survey,
        key="comment",
        type=QuestionType.TEXT,
        page=1,
        order=2,
        required=False,
        label={"en": "Why?"},
    )
    people = Person.objects.bulk_create(
        [Person(external_id=f"bench-{tag}-{i}", language="en") for i in range(count)]
    )
    rows, issued = [], []
    for person in people:
        nonce = tokens.new_nonce()
        token = tokens.token_for(nonce)
        issued.append(token)
        rows.append(
            Invitation(
                survey=survey,
                person=person,
                channel=Channel.EMAIL,
                nonce=nonce,
                token_hash=tokens.token_hash(token),
                state=InvitationState.SENT,
            )
        )
    Invitation.objects.bulk_create(rows)
    return survey, issued


def _drive(sends: list[Any], budget: float, limit: int) -> list[list[float]]:
    """Call each of `sends` in turn until the time budget or the request limit.

    Interleaving the sides means a load spike on a shared machine hits both alike.
    Returns the latencies (seconds) per side.
    """
    latencies: list[list[float]] = [[] for _ in sends]
    deadline = time.perf_counter() + budget
    i = 0
    while i < limit and time.perf_counter() < deadline:
        for send, side in zip(sends, latencies, strict=True):
            start = time.perf_counter()
            send(i)
            side.append(time.perf_counter() - start)
        i += 1
    return latencies


def _p99(latencies: list[float]) -> float:
    if len(latencies) < 2:
        return latencies[0] if latencies else 0.0
    return statistics.quantiles(latencies, n=100)[98]


class _ClientTransport:
    """Django's test Client: the full middleware stack, no HTTP parsing or sockets."""

    name = "test client"

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client()

    def post(self, path: str, data: dict[str, str]) -> int:
        return self.client.post(path, data).status_code

    def get(self, path: str) -> int:
        return self.client.get(path).status_code

    def close(self) -> None:
        pass


class _GunicornTransport:
    """One sync gunicorn worker on loopback, serving this module's `application`."""

    name = "gunicorn"

    def __init__(self, database_name: str) -> None:
        import socket
        import subprocess

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.queue = f"bench-hosted-{os.getpid()}"
        env = {
            **os.environ,
            "BENCH_HOSTED_DATABASE": database_name,
            "BENCH_HOSTED_QUEUE": self.queue,
            # One client address sends everything: its limit is lifted, the counting stays.
            "HOSTED_RATE_LIMIT_PER_IP": BENCH_IP_RATE,
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
                "1",
                "--log-level",
                "warning",
                "bench_hosted:application",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # A CSRF secret of our own, sent as cookie and field: what a browser would echo back.
        from django.utils.crypto import get_random_string

        secret = get_random_string(32)
        self.csrf = secret
        self.headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={secret}",
            "Host": "127.0.0.1",
        }
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.proc.stderr.read().decode()}")
            try:
                if self.post("/bench-floor/", {"n": "probe"}) == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 30 s")

    def post(self, path: str, data: dict[str, str]) -> int:
        from urllib.parse import urlencode

        body = urlencode({**data, "csrfmiddlewaretoken": self.csrf})
        return self._request("POST", path, body)

    def get(self, path: str) -> int:
        return self._request("GET", path, None)

    def _request(self, method: str, path: str, body: str | None) -> int:
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=self.headers)
            reply = conn.getresponse()
            reply.read()
            return reply.status
        finally:
            conn.close()

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - a stuck worker is killed
            self.proc.kill()
        from kombu import Exchange, Queue

        from xmplatform.celery import app

        # Declared here too, so that this process knows the bindings it deletes with it.
        queue = Queue(self.queue, Exchange(self.queue, type="direct"), routing_key=self.queue)
        with app.connection_for_write() as conn:
            bound = queue(conn.default_channel)
            bound.declare()
            bound.delete()


_handler: Any = None


def application(environ: dict[str, Any], start_response: Any) -> Any:
    """The WSGI app gunicorn serves: the platform plus the floor, on the bench database."""
    global _handler
    if _handler is None:
        _setup_django()
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connections

        from xmplatform.celery import app

        connections["default"].settings_dict["NAME"] = os.environ["BENCH_HOSTED_DATABASE"]
        settings.ROOT_URLCONF = _Urls()
        # The pages name their static files; the bench runs without collectstatic's manifest.
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        app.conf.task_default_queue = os.environ["BENCH_HOSTED_QUEUE"]
        _handler = WSGIHandler()
    return _handler(environ, start_response)


def measure(transport: str | None = None) -> dict[str, Any]:
    """Run both sides in a throwaway database; returns rates, ratio and latencies.

    `transport` is "gunicorn" (real HTTP on loopback, the default when PostgreSQL is
    configured) or "client" (Django's test Client, used with SQLite's in-memory database).
    """
    _setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import (
        override_settings,
        setup_databases,
        setup_test_environment,
        teardown_databases,
        teardown_test_environment,
    )

    from surveys.models import Response

    transport = (
        transport
        or os.environ.get("BENCH_HOSTED_TRANSPORT")
        or ("gunicorn" if connection.vendor == "postgresql" else "client")
    )
    saved_test_settings = dict(connection.settings_dict.get("TEST") or {})
    test_settings = connection.settings_dict.setdefault("TEST", {})
    if connection.vendor == "postgresql":
        # Our own name, so a concurrent test run's test database is never touched.
        test_settings["NAME"] = f"test_xm_bench_hosted_{os.getpid()}"
    test_settings["MIGRATE"] = False  # tables straight from the models: faster, same schema

    try:
        setup_test_environment()
        own_environment = True
    except RuntimeError:  # another benchmark of the same run set it up already
        own_environment = False
    old_config = setup_databases(verbosity=0, interactive=False, keepdb=False)
    server: Any = None
    try:
        from xmplatform.core.ratelimit import parse_rate

        limits = {**settings.HOSTED_RATE_LIMITS, "ip": parse_rate(BENCH_IP_RATE, setting="bench")}
        with override_settings(
            HOSTED_RATE_LIMITS=limits,
            ROOT_URLCONF=_Urls(),
            STORAGES={
                **settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
            SECURE_SSL_REDIRECT=False,
        ):
            _, issued = _make_invitations(WARMUP + MAX_REQUESTS)
            _, paged = _make_invitations(WARMUP + MAX_REQUESTS, "pages", "pages")
            _, stepped = _make_invitations(WARMUP + MAX_REQUESTS, "one_question", "stepped")
            if transport == "gunicorn":
                server = _GunicornTransport(connection.settings_dict["NAME"])
            else:
                server = _ClientTransport()
            pending = iter(issued)
            pending_paged, pending_stepped = iter(paged), iter(stepped)

            def submit(i: int) -> None:
                status = server.post(
                    f"/s/{next(pending)}/",
                    {"page": "1", "q-nps": str(i % 11), "q-comment": "Fast and friendly."},
                )
                if status != 302:
                    raise RuntimeError(f"submission {i} answered {status}")

            def expect(status: int, wanted: int, what: str, i: int) -> None:
                if status != wanted:
                    raise RuntimeError(f"{what} {i} answered {status}")

            def visit_pages(i: int) -> None:
                link = f"/s/{next(pending_paged)}/"
                expect(server.get(link), 200, "page", i)
                answers = {"page": "1", "q-nps": str(i % 11), "q-comment": "Fast and friendly."}
                expect(server.post(link, answers), 302, "visit submission", i)

            def visit_stepped(i: int) -> None:
                link = f"/s/{next(pending_stepped)}/"
                expect(server.get(link), 200, "question 1", i)
                expect(server.post(link, {"page": "1", "q-nps": str(i % 11)}), 302, "answer 1", i)
                expect(server.get(f"{link}?page=2&lang=en"), 200, "question 2", i)
                answer = {"page": "2", "q-comment": "Fast and friendly."}
                expect(server.post(link, answer), 302, "answer 2", i)

            def floor(i: int) -> None:
                status = server.post("/bench-floor/", {"n": str(i)})
                if status != 200:
                    raise RuntimeError(f"floor request {i} answered {status}")

            sides = [floor, submit, visit_pages, visit_stepped]
            warm = _drive(sides, 60.0, WARMUP)
            floor_latencies, hosted_latencies, paged_latencies, stepped_latencies = _drive(
                sides, MEASURE_SECONDS, MAX_REQUESTS - WARMUP
            )
            completed = Response.objects.filter(completed_on__isnull=False).count()
            expected = sum(len(side) for side in warm[1:]) + len(hosted_latencies)
            expected += len(paged_latencies) + len(stepped_latencies)
            if completed != expected:
                raise RuntimeError(f"{completed} responses for {expected} visits")
    finally:
        if server is not None:
            server.close()
        connection.close()
        teardown_databases(old_config, verbosity=0)
        if own_environment:
            teardown_test_environment()
        connection.settings_dict["TEST"] = saved_test_settings

    floor_rate = len(floor_latencies) / sum(floor_latencies)
    hosted_rate = len(hosted_latencies) / sum(hosted_latencies)
    return {
        "vendor": connection.vendor,
        "transport": server.name,
        "floor_rate": floor_rate,
        "hosted_rate": hosted_rate,
        "ratio": hosted_rate / floor_rate,
        "hosted_p99_ms": _p99(hosted_latencies) * 1000,
        "hosted_p50_ms": statistics.median(hosted_latencies) * 1000,
        "floor_p99_ms": _p99(floor_latencies) * 1000,
        "hosted_n": len(hosted_latencies),
        "floor_n": len(floor_latencies),
        # A whole visit per second, against the floor's single requests per second.
        "visit_pages_ratio": len(paged_latencies) / sum(paged_latencies) / floor_rate,
        "visit_one_question_ratio": len(stepped_latencies) / sum(stepped_latencies) / floor_rate,
        "visit_n": len(paged_latencies),
    }


def rows() -> list[dict[str, Any]]:
    """Figures for bench/run.py: name, value, unit, target, ok."""
    m = measure()
    db = f"{m['vendor']}, {m['transport']}"
    return [
        {
            "name": f"hosted survey submissions ({db}, n={m['hosted_n']})",
            "value": round(m["hosted_rate"], 1),
            "unit": "req/s",
            "target": "-",
            "ok": True,
        },
        {
            "name": f"floor: one-row insert view ({db}, n={m['floor_n']})",
            "value": round(m["floor_rate"], 1),
            "unit": "req/s",
            "target": "-",
            "ok": True,
        },
        {
            "name": "hosted submissions / floor",
            "value": round(m["ratio"] * 100, 1),
            "unit": "%",
            "target": f">= {RATIO_TARGET * 100:.0f} %",
            "ok": m["ratio"] >= RATIO_TARGET,
        },
        {
            "name": f"visit GET + POST / floor, pages (n={m['visit_n']})",
            "value": round(m["visit_pages_ratio"] * 100, 1),
            "unit": "%",
            "target": f">= {VISIT_TARGET * 100:.0f} %",
            "ok": m["visit_pages_ratio"] >= VISIT_TARGET,
        },
        {
            "name": "visit GET + POST per screen / floor, one question at a time (2 screens)",
            "value": round(m["visit_one_question_ratio"] * 2 * 100, 1),
            "unit": "%",
            "target": f">= {VISIT_TARGET * 100:.0f} %",
            "ok": m["visit_one_question_ratio"] * 2 >= VISIT_TARGET,
        },
        {
            "name": "hosted submission p99 latency",
            "value": round(m["hosted_p99_ms"], 1),
            "unit": "ms",
            "target": f"< {P99_TARGET_MS:.0f} ms",
            "ok": m["hosted_p99_ms"] < P99_TARGET_MS,
        },
        {
            "name": "hosted submission p50 latency",
            "value": round(m["hosted_p50_ms"], 1),
            "unit": "ms",
            "target": "-",
            "ok": True,
        },
    ]


if __name__ == "__main__":
    for row in rows():
        flag = "ok" if row["ok"] else "MISSED"
        target = f"  (target {row['target']})" if row["target"] != "-" else ""
        print(f"{row['name']}: {row['value']} {row['unit']}{target}  {flag}")
