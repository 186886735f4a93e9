"""What the fault drills rely on, checked in-process (both passes, no worker or fault needed).

A database that cannot be reached answers a translated 503 page with Retry-After (JSON under
/api/), whichever layer met it, and no other database error becomes one; rate limits fail
open with one log line while the cache is down; nothing on a request's path waits on a Celery
result backend.
"""

import logging
import types

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django.utils import translation
from redis.exceptions import ConnectionError as RedisConnectionError

from xmplatform.celery import app as celery_app
from xmplatform.core import ratelimit
from xmplatform.core.unavailable import RETRY_AFTER_SECONDS, database_unreachable

pytestmark = pytest.mark.django_db


def unreachable() -> OperationalError:
    """What Django raises when PostgreSQL refuses the connection (no SQLSTATE)."""
    exc = OperationalError("connection failed: Connection refused")
    exc.__cause__ = psycopg.OperationalError("connection failed: Connection refused")
    return exc


def shutting_down() -> OperationalError:
    exc = OperationalError("terminating connection due to administrator command")
    exc.__cause__ = psycopg.errors.AdminShutdown("terminating connection")
    return exc


def too_many_connections() -> OperationalError:
    exc = OperationalError("sorry, too many clients already")
    exc.__cause__ = psycopg.errors.TooManyConnections("sorry, too many clients already")
    return exc


def statement_timeout() -> OperationalError:
    exc = OperationalError("canceling statement due to statement timeout")
    exc.__cause__ = psycopg.errors.QueryCanceled("canceling statement")
    return exc


def raising(exc_factory):  # noqa: ANN001, ANN201
    def view(request: HttpRequest) -> HttpResponse:
        raise exc_factory()

    return view


def session_write(request: HttpRequest) -> HttpResponse:
    request.session["seen"] = True  # saved by SessionMiddleware after the view returns
    return HttpResponse("ok")


URLS = types.ModuleType("drill_urls")
URLS.urlpatterns = [  # type: ignore[attr-defined]
    path("s/down/", raising(unreachable)),
    path("s/closed/", raising(lambda: InterfaceError("connection already closed"))),
    path("s/timeout/", raising(statement_timeout)),
    path("s/session/", session_write),
    path("admin/down/", raising(shutting_down)),
    path("api/v1/down/", raising(unreachable)),
]


@pytest.fixture
def site(settings) -> Client:  # noqa: ANN001
    settings.ROOT_URLCONF = URLS
    settings.DEBUG = False
    return Client(raise_request_exception=False)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (unreachable(), True),
        (shutting_down(), True),
        (too_many_connections(), True),
        (InterfaceError("connection already closed"), True),
        (statement_timeout(), False),
        (OperationalError("no cause"), False),
        (ValueError("not the database"), False),
    ],
)
def test_only_an_unreachable_database_counts_as_unavailable(exc, expected) -> None:  # noqa: ANN001
    assert database_unreachable(exc) is expected


def test_unreachable_database_answers_the_hosted_503_page(site, caplog) -> None:  # noqa: ANN001
    with caplog.at_level(logging.WARNING, logger="xmplatform.core.unavailable"):
        page = site.get("/s/down/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 503
    assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "no-store" in page.headers["Cache-Control"]
    assert page.headers["Content-Language"] == "en"
    html = page.content.decode()
    assert "<title>Temporarily unavailable (503)</title>" in html
    assert "The service is briefly unavailable. Please try again in a minute." in html
    assert 'href="/static/surveys/survey.css"' in html
    assert "Traceback" not in html and "Connection refused" not in html
    assert [r.getMessage() for r in caplog.records] == [
        "Answered 503: the database is unreachable "
        "(OperationalError: connection failed: Connection refused)."
    ]
    assert caplog.records[0].exc_info is None


def test_closed_connection_is_a_503_too(site) -> None:  # noqa: ANN001
    assert site.get("/s/closed/").status_code == 503


def test_the_503_page_speaks_the_readers_language(site) -> None:  # noqa: ANN001
    page = site.get("/s/down/", HTTP_ACCEPT_LANGUAGE="tr")

    assert page.status_code == 503
    assert page.headers["Content-Language"] == "tr"
    assert '<html lang="tr"' in page.content.decode()
    with translation.override("tr"):
        assert translation.gettext("Try again") in page.content.decode()


def test_under_admin_the_503_page_wears_the_admin_look(site) -> None:  # noqa: ANN001
    page = site.get("/admin/down/", HTTP_ACCEPT_LANGUAGE="en")

    html = page.content.decode()
    assert page.status_code == 503
    assert 'href="/static/admin/css/base.css"' in html
    assert "The database cannot be reached right now (it may be restarting)." in html


def test_api_callers_get_json_with_retry_after(site) -> None:  # noqa: ANN001
    reply = site.get("/api/v1/down/", HTTP_ACCEPT_LANGUAGE="en")

    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert reply.json() == {
        "detail": "The service is briefly unavailable (the database cannot be reached). "
        "Try again after the seconds given in the Retry-After header."
    }


def test_a_failing_query_stays_a_500(site) -> None:  # noqa: ANN001
    page = site.get("/s/timeout/")

    assert page.status_code == 500
    assert "Retry-After" not in page.headers


def test_a_database_lost_after_the_view_is_a_503_too(site, monkeypatch) -> None:  # noqa: ANN001
    """The session is saved by its middleware once the view has answered: the 500 it would
    become is replaced, keeping the headers the middleware around it set."""
    from django.contrib.sessions.backends.db import SessionStore

    def down(self, must_create=False):  # noqa: ANN001, ANN202, FBT002
        raise unreachable()

    monkeypatch.setattr(SessionStore, "save", down)

    page = site.get("/s/session/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 503
    assert page.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "Temporarily unavailable" in page.content.decode()


# --- rate limits while the cache is down ------------------------------------------------------


@pytest.fixture
def cache_down(monkeypatch):  # noqa: ANN001, ANN201
    def down(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(ratelimit.cache, "incr", down)
    monkeypatch.setattr(ratelimit.cache, "add", down)
    monkeypatch.setattr(ratelimit.cache, "get", down)
    monkeypatch.setattr(ratelimit, "_outage", ratelimit._OutageLog())
    return down


def test_rate_limits_fail_open_with_one_log_line(cache_down, caplog) -> None:  # noqa: ANN001
    rate = ratelimit.Rate(1, 60)

    with caplog.at_level(logging.WARNING, logger="xmplatform.core.ratelimit"):
        waits = [ratelimit.hit("link", f"token-{i}", rate) for i in range(5)]
        waits.append(ratelimit.exceeded("miss", "10.0.0.1", rate))

    assert waits == [None] * 6
    assert [r.getMessage() for r in caplog.records] == [
        "Rate limits link not counted: the cache is unavailable (ConnectionError: Error 111 "
        "connecting to 127.0.0.1:6399. Connection refused.); requests are let through."
    ]
    assert caplog.records[0].exc_info is None


def test_an_outage_logs_again_after_a_minute_and_counts_what_it_let_through(
    cache_down, caplog, monkeypatch
) -> None:  # noqa: ANN001
    clock = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: clock[0])
    rate = ratelimit.Rate(1, 60)

    with caplog.at_level(logging.WARNING, logger="xmplatform.core.ratelimit"):
        for _ in range(3):
            ratelimit.hit("ip", "10.0.0.1", rate)
        clock[0] += 61
        ratelimit.hit("ip", "10.0.0.1", rate)

    assert len(caplog.records) == 2
    assert caplog.records[1].getMessage().endswith("(2 more since the last line).")


def test_a_working_cache_ends_the_outage(caplog) -> None:  # noqa: ANN001
    outage = ratelimit._OutageLog()
    down = RedisConnectionError("Connection refused")

    with caplog.at_level(logging.WARNING, logger="xmplatform.core.ratelimit"):
        outage.failed("ip", down)
        outage.failed("ip", down)  # the same outage: no line
        outage.recovered()  # a counter worked
        outage.failed("ip", down)  # a new outage: a line at once

    assert len(caplog.records) == 2
    assert not caplog.records[1].getMessage().endswith("since the last line).")


# --- publishing from a request ----------------------------------------------------------------


def test_no_task_keeps_a_result_unless_asked() -> None:
    """Publishing then never subscribes to the result backend, whose reconnects (20 of them, a
    second apart) held event requests for 19.5 s while Redis was down."""
    assert celery_app.conf.task_ignore_result is True
    assert celery_app.conf.broker_transport_options["socket_connect_timeout"] <= 1
    assert celery_app.conf.task_publish_retry_policy["max_retries"] <= 1
