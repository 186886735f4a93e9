"""The transactional outbox: side effects between apps, written with the change that causes them.

An app that changes state calls `outbox_emit("response.completed", response_id=…)` inside the
transaction of that change. It writes one row per handler that `settings.OUTBOX_HANDLERS`
(xmplatform/flows.py) lists for the event, so the effect is owed exactly when the change
commits, whatever happens to the process or the broker afterwards. After the commit the relay
is woken (`core.outbox_relay_task`); a wake that cannot reach the broker is logged and
dropped, and the beat sweep (`core.outbox_sweep_task`, every minute) relays whatever is left.

The relay claims due rows with `SELECT … FOR UPDATE SKIP LOCKED` and a conditional UPDATE that
stamps them with a claim token, pushes their `available_at` a lease ahead and counts the
attempt; the claim commits before any handler runs. Each handler then runs in a transaction of
its own that also marks its row done, on condition the claim is still ours, so a handler's
database writes happen exactly once: if the worker dies, nothing of it commits and the row
comes back when the lease ends. Effects outside the database (a webhook post, an e-mail) run
at least once and are guarded by their own claim (a delivery row's state). A handler that
raises is retried with exponential backoff; after `OUTBOX_MAX_ATTEMPTS` its row becomes a dead
letter, listed in the admin with a retry button.

Handlers are plain functions `handler(*, message_id: int, **payload) -> None`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import traceback
from collections.abc import Callable, Iterable, Mapping

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from xmplatform.core.models import OutboxMessage, OutboxState

logger = logging.getLogger(__name__)

BATCH = 100
ROUNDS = 20
# How long a claimed row waits before another relay may take it: a relay that died, or one
# cut off from the database, gives its rows back after this. A row whose handler is running
# is also locked (FOR UPDATE) by the handler's transaction, so a long handler is never run
# twice because its lease ended.
LEASE = dt.timedelta(seconds=60)
BACKOFF_FIRST = dt.timedelta(seconds=10)
BACKOFF_MAX = dt.timedelta(hours=1)
KEEP_DONE = dt.timedelta(days=7)
PRUNE_BATCH = 5_000
ERROR_MAX = 4_000

PayloadValue = int | str | list[int] | None


class UnknownEvent(LookupError):
    """An event name that xmplatform/flows.py does not list: a programming error."""


def handlers_table() -> Mapping[str, tuple[str, ...]]:
    """Event name → dotted paths of its handlers (settings.OUTBOX_HANDLERS)."""
    table = settings.OUTBOX_HANDLERS
    return import_string(table) if isinstance(table, str) else table


def max_attempts() -> int:
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8))


def outbox_emit(event: str, **payload: PayloadValue) -> int:
    """Owe `event` to each of its handlers, in the caller's transaction; returns rows written.

    Call it inside the transaction that makes the change (a service under
    `@transaction.atomic`): the rows commit or roll back with it. The payload names ids, never
    personal data. Raises UnknownEvent for a name xmplatform/flows.py does not list.
    """
    try:
        handlers = handlers_table()[event]
    except KeyError:
        raise UnknownEvent(f"{event!r} is not an event of xmplatform/flows.py") from None
    if not handlers:
        return 0
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(event=event, handler=path, payload=payload, available_at=now, created_at=now)
        for path in handlers
    )
    # robust: a relay that fails in-process (eager mode) must not turn the committed request
    # into an error; the row stays pending for the sweep.
    transaction.on_commit(outbox_wake, robust=True)
    return len(handlers)


def outbox_wake() -> None:
    """Ask a worker to relay now; if the broker is unreachable, the minute's sweep will."""
    from kombu.exceptions import OperationalError as BrokerError
    from redis.exceptions import RedisError

    from xmplatform.core.tasks import outbox_relay_task

    try:
        outbox_relay_task.apply_async(retry=False)
    except (BrokerError, RedisError, OSError):
        logger.warning("Outbox relay not woken: the broker is unreachable; the sweep relays it.")


def backoff(attempts: int) -> dt.timedelta:
    """Wait before attempt `attempts + 1`: 10 s, 20 s, 40 s, … capped at an hour."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def outbox_relay(
    *, limit: int = BATCH, rounds: int = ROUNDS, now: dt.datetime | None = None
) -> int:
    """Claim due rows and run their handlers, up to `rounds` batches; returns rows handled."""
    handled = 0
    for _round in range(rounds):
        claimed = _claim(limit=limit, now=now or timezone.now())
        for message in claimed:
            _run(message)
        handled += len(claimed)
        if len(claimed) < limit:
            break
    return handled


@transaction.atomic
def _claim(*, limit: int, now: dt.datetime) -> list[OutboxMessage]:
    """Take up to `limit` due rows for this relay; two relays never take the same row."""
    ids = list(
        OutboxMessage.objects.filter(state=OutboxState.PENDING, available_at__lte=now)
        .order_by("available_at", "id")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return []
    token = secrets.token_hex(16)
    # The conditions repeat the claim's: on SQLite, which has no row locks, a relay that read
    # the same ids before another committed finds them no longer due and takes none of them.
    OutboxMessage.objects.filter(
        id__in=ids, state=OutboxState.PENDING, available_at__lte=now
    ).update(claim=token, attempts=F("attempts") + 1, available_at=now + LEASE)
    return list(OutboxMessage.objects.filter(id__in=ids, claim=token).order_by("id"))


def _lock_if_ours(message: OutboxMessage) -> bool:
    """Lock the row for the handler's transaction, if our claim still holds it."""
    mine = OutboxMessage.objects.select_for_update().filter(
        pk=message.pk, claim=message.claim, state=OutboxState.PENDING
    )
    return bool(list(mine.values_list("pk", flat=True)))


class _LeaseLost(Exception):
    """Another relay took the row after our lease ended: our handler's writes roll back."""


def _run(message: OutboxMessage) -> None:
    try:
        handler: Callable[..., None] = import_string(message.handler)
        with transaction.atomic():
            if not _lock_if_ours(message):
                raise _LeaseLost
            handler(message_id=message.pk, **message.payload)
            marked = OutboxMessage.objects.filter(pk=message.pk, claim=message.claim).update(
                state=OutboxState.DONE, done_at=timezone.now(), last_error=""
            )
            if not marked:
                raise _LeaseLost
    except _LeaseLost:
        logger.warning("Outbox row %s was taken by another relay; its run is undone.", message.pk)
    # A relay must outlive any handler's failure: each is recorded on its row and retried.
    except Exception as exc:  # noqa: BLE001
        _fail(message, exc)


def _fail(message: OutboxMessage, exc: BaseException) -> None:
    now = timezone.now()
    dead = message.attempts >= max_attempts()
    error = "".join(traceback.format_exception(exc))[-ERROR_MAX:]
    log = logger.error if dead else logger.warning
    log(
        "Outbox row %s (%s) failed on attempt %s: %r",
        message.pk,
        message.handler,
        message.attempts,
        exc,
    )
    try:
        OutboxMessage.objects.filter(pk=message.pk, claim=message.claim).update(
            state=OutboxState.DEAD if dead else OutboxState.PENDING,
            available_at=now + backoff(message.attempts),
            last_error=error,
        )
    except DatabaseError:
        # The database itself is away: the row's lease ends and it is tried again then.
        logger.warning("Outbox row %s: failure not recorded; retried after its lease.", message.pk)


@transaction.atomic
def outbox_retry(*, ids: Iterable[int]) -> int:
    """Give dead letters a fresh start (the admin's retry); returns how many."""
    count = OutboxMessage.objects.filter(id__in=list(ids), state=OutboxState.DEAD).update(
        state=OutboxState.PENDING, attempts=0, available_at=timezone.now(), claim=""
    )
    if count:
        transaction.on_commit(outbox_wake, robust=True)
    return count


def outbox_prune(*, now: dt.datetime | None = None, limit: int = PRUNE_BATCH) -> int:
    """Delete up to `limit` rows done more than KEEP_DONE ago; returns how many."""
    cutoff = (now or timezone.now()) - KEEP_DONE
    old = OutboxMessage.objects.filter(state=OutboxState.DONE, created_at__lt=cutoff)
    ids = list(old.order_by().values_list("id", flat=True)[:limit])
    deleted, _by_model = OutboxMessage.objects.filter(id__in=ids).delete()
    return deleted


def outbox_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The beat's minute: relay what a lost wake or an ended lease left, prune old done rows."""
    return {"relayed": outbox_relay(now=now), "pruned": outbox_prune(now=now)}
