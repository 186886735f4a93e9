"""GET /metrics: Prometheus metrics behind a bearer token, with the platform's own gauges."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.parser import text_string_to_metric_families

from metrics.models import RollupState
from surveys.models import ContactKind, ContactLedger, Invitation, InvitationState
from tests.factories import make_audience
from tests.surveys.distribution_factories import make_invitation, make_survey, member
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.ops import selectors

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
TOKEN = "metrics-token-for-tests-0123456789abcdef"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def token(settings) -> str:  # noqa: ANN001
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token: str = TOKEN):  # noqa: ANN001, ANN201
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")


def platform_samples(page) -> dict[tuple[str, tuple], float]:  # noqa: ANN001
    """The xm_* samples of a scrape: (name, sorted labels) -> value."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page.content.decode())
        if family.name.startswith("xm_")
        for sample in family.samples
    }


def outbox_row(state: str, *, created: dt.timedelta, available: dt.timedelta) -> None:
    OutboxMessage.objects.create(
        event="response.completed",
        handler="tests.handler",
        state=state,
        created_at=NOW - created,
        available_at=NOW - available,
    )


def test_it_is_not_exposed_without_a_configured_token(client, settings) -> None:  # noqa: ANN001
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert scrape(client, "anything").status_code == 404


def test_it_asks_for_the_token(client, token) -> None:  # noqa: ANN001
    page = client.get("/metrics")

    assert page.status_code == 401
    assert page["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert page.content == b""


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer ", "Bearer çok"],
)
def test_it_refuses_a_wrong_token(client, token, authorization) -> None:  # noqa: ANN001
    page = client.get("/metrics", HTTP_AUTHORIZATION=authorization)

    assert page.status_code == 401
    assert b"xm_" not in page.content


def test_it_reports_the_platform_state_exactly(client, token) -> None:  # noqa: ANN001
    # Outbox: two pending (one written 10 minutes ago and due 3 minutes ago, one waiting out a
    # backoff), one dead, one done.
    outbox_row(OutboxState.PENDING, created=10 * MINUTE, available=3 * MINUTE)
    outbox_row(OutboxState.PENDING, created=2 * MINUTE, available=-MINUTE)
    outbox_row(OutboxState.DEAD, created=60 * MINUTE, available=30 * MINUTE)
    outbox_row(OutboxState.DONE, created=90 * MINUTE, available=90 * MINUTE)
    # Invitations: two planned, three sent (messages 10, 4 and 1 minutes ago), one unknown,
    # one answered.
    audience = make_audience("customers")
    person = member(audience, "p-1")
    survey = make_survey(audience)
    for _ in range(2):
        make_invitation(survey, person, state=InvitationState.PLANNED)
    for ago in (10, 4, 1):
        at = NOW - ago * MINUTE
        sent = make_invitation(survey, person, state=InvitationState.SENT, sent_at=at)
        ContactLedger.objects.create(
            person=person,
            invitation=sent,
            survey=survey,
            kind=ContactKind.INVITATION,
            channel="email",
            at=at,
        )
    make_invitation(survey, person, state=InvitationState.DELIVERY_UNKNOWN)
    # One answered: counted with the sent ones, so no gauge moves when someone answers.
    make_invitation(survey, person, state=InvitationState.RESPONDED)
    # Rollups three days behind, last run 25 minutes ago; beat last ran 45 seconds ago.
    RollupState.objects.update_or_create(
        pk=1,
        defaults={"complete_through": dt.date(2026, 3, 7), "rolled_at": NOW - 25 * MINUTE},
    )
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="some-task",
        task="xmplatform.tasks.noop",
        interval=every,
        last_run_at=NOW - dt.timedelta(seconds=45),
    )

    page = scrape(client)

    assert page.status_code == 200
    assert page["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    hidden = {"sent", "opened", "responded"}
    states = {state.value: 0.0 for state in InvitationState if state.value not in hidden}
    states |= {"planned": 2.0, "delivered": 4.0, "delivery_unknown": 1.0}
    assert platform_samples(page) == {
        ("xm_outbox_messages", (("state", "pending"),)): 2.0,
        ("xm_outbox_messages", (("state", "dead"),)): 1.0,
        ("xm_outbox_oldest_pending_seconds", ()): 600.0,
        ("xm_outbox_due_lag_seconds", ()): 180.0,
        **{("xm_invitations", (("state", state),)): count for state, count in states.items()},
        ("xm_messages_sent_5m", ()): 2.0,
        ("xm_rollup_lag_days", ()): 3.0,
        ("xm_rollup_last_run_seconds", ()): 1500.0,
        ("xm_beat_last_run_seconds", ()): 45.0,
    }


def test_an_empty_platform_reports_zeros(client, token) -> None:  # noqa: ANN001
    RollupState.objects.filter(pk=1).update(complete_through=None, rolled_at=None)

    samples = platform_samples(scrape(client))

    assert samples[("xm_outbox_messages", (("state", "pending"),))] == 0.0
    assert samples[("xm_outbox_oldest_pending_seconds", ())] == 0.0
    assert samples[("xm_outbox_due_lag_seconds", ())] == 0.0
    assert samples[("xm_messages_sent_5m", ())] == 0.0
    # Never ran: no sample rather than a made-up number.
    assert ("xm_rollup_lag_days", ()) not in samples
    assert ("xm_beat_last_run_seconds", ()) not in samples


def test_a_group_whose_read_fails_is_left_out(client, token, monkeypatch) -> None:  # noqa: ANN001
    def timed_out() -> dict:
        raise OperationalError("canceling statement due to statement timeout")

    monkeypatch.setattr(selectors, "invitation_counts", timed_out)
    RollupState.objects.filter(pk=1).update(rolled_at=NOW)

    samples = platform_samples(scrape(client))

    assert not any(name == "xm_invitations" for name, _ in samples)
    assert ("xm_outbox_messages", (("state", "dead"),)) in samples
    assert ("xm_rollup_last_run_seconds", ()) in samples


def test_it_answers_a_host_that_allowed_hosts_does_not_list(client, token, settings) -> None:  # noqa: ANN001
    """Prometheus scrapes a process by its address."""
    settings.ALLOWED_HOSTS = ["xm.example.com"]

    page = client.get("/metrics", HTTP_HOST="10.0.0.7:8000", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert page.status_code == 200


def test_counts_past_the_cap_are_the_planner_estimate(needs_postgres) -> None:  # noqa: ANN001
    survey = make_survey(make_audience("customers"))
    for _ in range(5):
        make_invitation(survey, None, state=InvitationState.EXPIRED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_invitation")

    expired = Invitation.objects.filter(state=InvitationState.EXPIRED)
    assert selectors.bounded_count(expired, cap=10) == 5  # exact
    assert selectors.bounded_count(expired, cap=2) == 5  # the planner's estimate, fresh here


@pytest.mark.startup
def test_a_short_token_stops_the_start() -> None:
    done = _run_python("import django; django.setup()", METRICS_TOKEN="short")

    assert done.returncode != 0
    assert "METRICS_TOKEN has 5 characters; use at least 32 random ones" in done.stderr


@pytest.mark.startup
def test_with_a_token_requests_and_queries_are_measured(tmp_path: Path) -> None:
    """django-prometheus's middleware and database backend, switched on by METRICS_TOKEN."""
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings as s\n"
        "from django.test import Client\n"
        "print(s.DATABASES['default']['ENGINE'])\n"
        "print(s.MIDDLEWARE[0], s.MIDDLEWARE[-1])\n"
        "c = Client()\n"
        f"c.get('/metrics', HTTP_AUTHORIZATION='Bearer {TOKEN}')\n"
        f"page = c.get('/metrics', HTTP_AUTHORIZATION='Bearer {TOKEN}')\n"
        "print(page.status_code)\n"
        "print(page.content.decode())\n"
    )
    done = _run_python(
        code, METRICS_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}", DEBUG="1"
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "django_prometheus.db.backends.sqlite3",
        "django_prometheus.middleware.PrometheusBeforeMiddleware "
        "django_prometheus.middleware.PrometheusAfterMiddleware",
        "200",
    ]
    # Both requests reached the outermost middleware; the first had been answered.
    assert "django_http_requests_before_middlewares_total 2.0" in lines
    assert "django_http_responses_before_middlewares_total 1.0" in lines
    # The four groups of platform gauges read a database without tables: measured, left out.
    errors = 'django_db_errors_total{alias="default",type="OperationalError",vendor="sqlite"}'
    assert f"{errors} 4.0" in lines
    assert not any(line.startswith("xm_") for line in lines)


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "METRICS_TOKEN"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "xmplatform.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
