"""Reads for operating the platform: what /healthz checks and what /metrics reports.

Every read here is bounded: it walks an index from one end, counts at most COUNT_CAP + 1 index
entries (past that, PostgreSQL's planner estimate), or reads a one-row table. Callers run them
inside `bounded_reads()`, which puts a short `statement_timeout` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from metrics.models import RollupState
from surveys.models import ContactLedger, Invitation, InvitationState
from xmplatform.core.counts import BOUNDED_COUNT_CAP
from xmplatform.core.models import OutboxMessage, OutboxState

COUNT_CAP = BOUNDED_COUNT_CAP
STATEMENT_TIMEOUT_MS = 500


@contextmanager
def bounded_reads(timeout_ms: int = STATEMENT_TIMEOUT_MS) -> Iterator[None]:
    """A transaction whose statements PostgreSQL cancels after `timeout_ms` (QueryCanceled).

    It also plans without parallel workers: a range whose bound is only known when the
    statement runs (the send count's) is otherwise planned as a third of the table, and
    starting workers costs more than reading the few rows it holds.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true),"
                    " set_config('max_parallel_workers_per_gather', '0', true)",
                    [str(int(timeout_ms))],
                )
        yield


def database_ping() -> None:
    """`SELECT 1`: raises django.db.Error when the database cannot answer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def bounded_count(queryset: QuerySet[Any], cap: int = COUNT_CAP) -> int:
    """The rows `queryset` matches: exact up to `cap`, past it PostgreSQL's planner estimate.

    The exact part reads at most cap + 1 index entries. Past the cap the estimate comes from
    the table's statistics (as of the last ANALYZE), never below cap + 1; SQLite, which has
    none, counts every row (the embedded database is small).
    """
    exact = queryset.order_by()[: cap + 1].count()
    if exact <= cap:
        return exact
    if connection.vendor != "postgresql":
        return queryset.order_by().count()
    plan = json.loads(queryset.order_by().values("pk").explain(format="json"))
    return max(exact, int(plan[0]["Plan"]["Plan Rows"]))


def _age_seconds(since: dt.datetime | None, now: dt.datetime) -> float | None:
    return None if since is None else max(0.0, (now - since).total_seconds())


def outbox_due_lag(*, now: dt.datetime) -> float:
    """Seconds the longest-due pending outbox row has waited for the relay (0: none due).

    A row waiting out a failed handler's backoff, or leased to a running handler, is not due
    yet: this measures the relay (workers, broker, beat sweep), not one failing handler.
    """
    oldest = (
        OutboxMessage.objects.filter(state=OutboxState.PENDING)
        .order_by("available_at", "id")
        .values_list("available_at", flat=True)
        .first()
    )
    return _age_seconds(oldest, now) or 0.0


def outbox_oldest_pending_age(*, now: dt.datetime) -> float:
    """Seconds since the oldest pending outbox row was written (0: none pending)."""
    oldest = (
        OutboxMessage.objects.filter(state=OutboxState.PENDING)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return _age_seconds(oldest, now) or 0.0


def outbox_counts() -> dict[str, int]:
    """Pending and dead outbox rows (each from its index: bounded_count)."""
    rows = OutboxMessage.objects
    return {
        OutboxState.PENDING: bounded_count(rows.filter(state=OutboxState.PENDING)),
        OutboxState.DEAD: bounded_count(rows.filter(state=OutboxState.DEAD)),
    }


def beat_last_run(*, now: dt.datetime) -> float | None:
    """Seconds since beat last sent a periodic task or started; None if it never did.

    django-celery-beat writes each task's `last_run_at` when it syncs, every three minutes,
    so a running beat reads at most about four minutes old here. A starting beat rewrites the
    schedule's own entries (settings.CELERY_BEAT_SCHEDULE), which dates their `date_changed`:
    a beat that has only just started counts as having run. With two beats running, the later
    of the two counts.
    """
    tasks = PeriodicTask.objects.filter(enabled=True)
    last_run = tasks.aggregate(at=Max("last_run_at"))["at"]
    started = tasks.filter(name__in=list(getattr(settings, "CELERY_BEAT_SCHEDULE", {}))).aggregate(
        at=Max("date_changed")
    )["at"]
    latest = max((at for at in (last_run, started) if at is not None), default=None)
    return _age_seconds(latest, now)


# What a respondent does moves an invitation from sent to opened to responded. A gauge anyone
# with the metrics token can poll would tell when an anonymous survey was opened or answered
# (README, "The privacy model of anonymous surveys"), so those three states are one series.
DELIVERED = "delivered"
RESPONDENT_STATES = (InvitationState.SENT, InvitationState.OPENED, InvitationState.RESPONDED)


def invitation_counts() -> dict[str, int]:
    """Invitations in each sending state, with sent, opened and responded counted together as
    `delivered` (bounded_count through the (state, due_at) index)."""
    counts = {
        state.value: bounded_count(Invitation.objects.filter(state=state))
        for state in InvitationState
        if state not in RESPONDENT_STATES
    }
    counts[DELIVERED] = bounded_count(Invitation.objects.filter(state__in=RESPONDENT_STATES))
    return counts


def messages_sent_since(since: dt.datetime) -> int:
    """Messages (invitations and reminders, every channel) recorded since `since`.

    The contact ledger is written as messages go out, so its ids follow its `at`: the newest
    row older than `since` is found walking the primary key back from the end, and the rows
    after it are counted on the same index. Both read only the rows of the window. A message
    that failed is taken off the ledger, so it does not count.
    """
    table = connection.ops.quote_name(ContactLedger._meta.db_table)
    sql = (
        f"SELECT count(*) FROM {table} WHERE id > COALESCE("  # noqa: S608 - our table name
        f"(SELECT id FROM {table} WHERE at < %s ORDER BY id DESC LIMIT 1), 0)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(since)])
        return int(cursor.fetchone()[0])


def rollup_state(*, now: dt.datetime) -> tuple[int | None, float | None]:
    """(days from the rollups' watermark to today, seconds since the last rollup run).

    A current watermark is yesterday, so 1 day is the normal lag (2 in the first minutes after
    midnight). None where the rollups never ran.
    """
    state = RollupState.objects.filter(pk=1).values("complete_through", "rolled_at").first()
    if state is None:
        return None, None
    through = state["complete_through"]
    lag = None if through is None else (timezone.localdate(now) - through).days
    return lag, _age_seconds(state["rolled_at"], now)
