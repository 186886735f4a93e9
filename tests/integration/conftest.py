"""Fixtures of the fault drills: collected static files, mail and webhook receivers."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from tests.support.sinks import WebhookSink
from tests.support.web import collect_static
from tests.support.workers import process_env
from tests.surveys.distribution_factories import SmtpSink


@pytest.fixture(scope="session")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Static files collected once for every gunicorn of the session (DEBUG off)."""
    if connection.vendor != "postgresql":  # asked for before the integration gate runs
        pytest.skip("integration test: runs in the PostgreSQL + Redis pass of `make test`")
    return collect_static(tmp_path_factory.mktemp("static"), process_env())


@pytest.fixture
def mail() -> Iterator[SmtpSink]:
    """A real SMTP server that answers slowly enough to keep a batch in flight."""
    with SmtpSink(delay=0.02) as sink:
        yield sink


@pytest.fixture
def hooks() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:  # noqa: ANN001
    """Receivers listen on loopback: allowed for handlers run in this process too."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
