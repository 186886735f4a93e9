"""Two weekly-report senders at once (beat fired twice, a redelivered task): every subscriber
gets exactly one report, because each week is claimed by a conditional UPDATE of the
subscriber's row that PostgreSQL serialises (the second UPDATE waits, re-reads the row and
finds it claimed)."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection

from audiences.models import Role
from metrics.models import ReportSubscription
from metrics.reports.services import weekly_reports_send
from tests.metrics.test_reports_support import (
    NOW,
    WEEK,
    customers_with_two_weeks,
    grant,
    staff_user,
    subscribe,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres(needs_postgres: None) -> None:
    """Row locks are PostgreSQL's; SQLite runs one writer."""


def together(work: Callable[[], Any], threads: int) -> list[Any]:
    """Run `work` in `threads` threads released at once, each on its own connection."""
    start = threading.Barrier(threads)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(timeout=10)
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    running = [threading.Thread(target=run) for _n in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    assert len(results) == threads
    return results


def test_concurrent_senders_send_each_subscriber_exactly_one_report():
    world = customers_with_two_weeks()
    names = [f"user{i}" for i in range(12)]
    for name in names:
        user = staff_user(name)
        grant(user, world.audience, Role.VIEWER)
        subscribe(user)

    results = together(lambda: weekly_reports_send(now=NOW), threads=4)

    assert sum(r.sent for r in results) == 12
    assert sum(r.failed for r in results) == 0
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"{n}@example.com" for n in names)
    assert set(ReportSubscription.objects.values_list("last_sent_week", flat=True)) == {WEEK}
    assert ReportSubscription.objects.filter(last_sent_at__isnull=True).count() == 0


def test_a_run_that_starts_after_another_finished_sends_nothing():
    world = customers_with_two_weeks()
    user = staff_user("viewer")
    grant(user, world.audience, Role.VIEWER)
    subscribe(user)

    together(lambda: weekly_reports_send(now=NOW), threads=2)
    late = weekly_reports_send(now=NOW)

    assert late.sent == 0
    assert len(mail.outbox) == 1
