"""Shared fixtures: service gates, the Celery mode, a browser, and the cast of users."""

import os
import shutil
from collections.abc import Iterator

import pytest
from celery._state import _set_task_join_will_block
from django.conf import settings
from django.db import connection
from django.utils import translation

from tests.support.services import redis_problem
from xmplatform.celery import app as celery_app

IN_CI = os.environ.get("CI") == "true"


def _unavailable(reason: str) -> None:
    """Under CI a missing service is a failure; elsewhere the test skips with the reason."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a missing service is a failure, not a skip)")
    pytest.skip(reason)


# Tests of what the platform shows and how it guards its pages (rendering, words and formats,
# sign-in, the hosted pages' markup, settings and the admin's guards) read and write through the
# ORM alone: the SQLite pass runs them, and the PostgreSQL pass runs only their tests of
# PostgreSQL's own behaviour (the needs_postgres fixture). Everything else runs in both passes.
SQLITE_PASS_ONLY = (
    "tests/formats/",
    "tests/hardening/",
    "tests/hosted/",
    "tests/people/",
    "tests/signin/",
    "tests/workspace/",
    "tests/workspace_flow/",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor != "postgresql":
        return
    root = str(config.rootpath) + os.sep
    kept, left = [], []
    for item in items:
        path = str(item.path).removeprefix(root)
        pages_only = path.startswith(SQLITE_PASS_ONLY)
        (left if pages_only and "needs_postgres" not in item.fixturenames else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


@pytest.fixture(autouse=True)
def _celery_mode(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run tasks in-process; integration tests talk to real workers."""
    eager = request.node.get_closest_marker("integration") is None or not settings.REDIS_URL
    # An eager task marks the whole process "inside a task" while it runs (Celery's flag is a
    # global, not per thread): two threads of a concurrency test, ending out of order, can leave
    # it set, and a later test's `.delay().get()` would be refused. No test runs inside a task.
    _set_task_join_will_block(False)
    old = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = old


@pytest.fixture(autouse=True)
def _integration_gate(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration") is None:
        return
    if connection.vendor != "postgresql":
        pytest.skip("integration test: runs in the PostgreSQL + Redis pass of `make test`")
    if not settings.REDIS_URL:
        _unavailable("integration test: REDIS_URL is not set")
        return
    problem = redis_problem(settings.REDIS_URL)
    if problem:
        _unavailable(problem)


@pytest.fixture
def needs_postgres() -> None:
    """For tests of locks and constraints that SQLite cannot show."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        _unavailable("browser test: Debian's chromium is not installed (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone_page(chromium: object) -> Iterator[object]:
    """A fresh phone-sized browser page (390×844, touch)."""
    context = chromium.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop_page(chromium: object) -> Iterator[object]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


# --- The cast ------------------------------------------------------------------------------


@pytest.fixture
def xm_manager(django_user_model):  # noqa: ANN001, ANN201
    """Runs the XM programme: a superuser."""
    return django_user_model.objects.create_superuser(
        username="xm.manager", email="xm@example.com", password="correct-horse-battery"
    )


@pytest.fixture
def outsider(django_user_model):  # noqa: ANN001, ANN201
    """A staff-less user who must see nothing."""
    return django_user_model.objects.create_user(
        username="outsider", email="outsider@example.com", password="correct-horse-battery"
    )


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the platform's language: a request's language (the locale middleware
    activates it for the thread) must not carry over into the next test's plain calls."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_outage_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limits' cache-outage line is written at most once a minute per process: each
    test starts as if none had been written, whatever ran just before it."""
    from xmplatform.core import ratelimit

    monkeypatch.setattr(ratelimit, "_outage", ratelimit._OutageLog())


@pytest.fixture(autouse=True)
def _no_rate_limits(settings) -> None:  # noqa: ANN001
    """Counters would carry over between tests sharing one address; tests/hardening opts in."""
    settings.RATE_LIMIT_ENABLED = False


@pytest.fixture(autouse=True)
def _plain_static_storage(settings) -> None:  # noqa: ANN001
    """Tests render pages without running collectstatic first (no manifest needed)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # noqa: ANN001
    """The cast logs in with passwords: a million PBKDF2 rounds per user would dominate setup."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The screenshot folder and page opener every browser test uses (tests/support/browser.py).
from tests.support.browser import open_page, shots  # noqa: E402, F401
