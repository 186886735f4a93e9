"""Listeners told about completed responses, after the transaction that completed them commits.

Other apps (alerts, webhooks) register here from their AppConfig.ready(), so surveys never
imports them:

    from surveys.hooks import register_response_listener
    register_response_listener(open_alerts_for_response)

A listener receives the id of one completed Response. It runs in a Celery worker after the
transaction that completed the response committed: the completing request publishes one task
(`surveys.response_completed_task`) however many listeners there are, and that task calls them
all. A listener must still be quick (typically it enqueues a Celery task of its own) and
idempotent: surveys announces each completion once, but a redelivered task (acks_late) or a
listener's own retries may see the same id again, and so may the reconciler below, which
announces again the completions whose task was lost. With eager tasks (the embedded setup and
the tests) everything runs in-process, right after the commit.

Completions of anonymous surveys are announced to nobody: a call right after the commit would
tell a listener when that response arrived. surveys.services marks them announced on their
period's first day as it stores them; rows without a completion time found unannounced
(unlinked from their person, or stored before that rule) are marked on their completion day.
"""

import datetime
import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone

from surveys.models import Response

logger = logging.getLogger(__name__)

ResponseListener = Callable[[int], None]

_listeners: list[ResponseListener] = []


def register_response_listener(fn: ResponseListener) -> ResponseListener:
    """Call `fn(response_id)` after each commit that completed a response; usable as decorator."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_response_listener(fn: ResponseListener) -> None:
    """Stop calling `fn` (tests use this to clean up)."""
    if fn in _listeners:
        _listeners.remove(fn)


def response_completed(response_id: int) -> None:
    """Announce that `response_id` was completed (call through on_commit): one task."""
    if not _listeners:
        return
    # Imported here: surveys.tasks imports the services, which import this module.
    from surveys.tasks import response_completed_task

    response_completed_task.delay(response_id)


def response_listeners_call(response_id: int) -> None:
    """Call every listener with `response_id`, then mark the completion announced (the body
    of response_completed_task). A listener that raises leaves it unmarked, for the reconciler.
    """
    for fn in tuple(_listeners):
        fn(response_id)
    Response.objects.filter(pk=response_id, announced_on__isnull=True).update(
        announced_on=_announced_on(timezone.localdate())
    )


def _announced_on(today: datetime.date) -> Case:
    """The day a completion is marked announced: today, but a response that keeps no time
    (anonymous, or unlinked) keeps its own day, never the day its announcement ran."""
    return Case(
        When(completed_at__isnull=True, then=F("completed_on")),
        default=Value(today),
    )


# --- Reconciler ------------------------------------------------------------------------------
# A completed response still unannounced after ANNOUNCE_GRACE lost its task (a failed publish
# after the commit, a killed worker, Redis down). Beat runs `completions_reconcile` every
# minute: it claims such responses in batches (SKIP LOCKED: two runs never share one), calls
# the listeners again and marks them. A completion older than ANNOUNCE_HORIZON is marked
# without a call: a webhook or a follow-up case days late would mislead more than it tells; so
# is one without a completion time (anonymous or unlinked), which no listener is to hear of.

ANNOUNCE_GRACE = datetime.timedelta(minutes=5)
ANNOUNCE_HORIZON = datetime.timedelta(days=2)
ANNOUNCE_BATCH = 200
ANNOUNCE_BATCHES = 4
ANNOUNCE_MARK_LIMIT = 10_000


def completions_reconcile(
    *,
    now: datetime.datetime | None = None,
    batch_size: int = ANNOUNCE_BATCH,
    batches: int = ANNOUNCE_BATCHES,
) -> int:
    """Announce the completions whose task was lost; returns how many responses were marked."""
    now = now or timezone.now()
    today, horizon = timezone.localdate(now), timezone.localdate(now - ANNOUNCE_HORIZON)
    marked = _history_mark(horizon=horizon, today=today)
    failed: set[int] = set()
    for _batch in range(batches):
        claimed, announced = _announce_batch(
            now=now, horizon=horizon, limit=batch_size, failed=failed
        )
        marked += announced
        if claimed < batch_size:
            break
    return marked


def _unannounced() -> QuerySet[Response]:
    return Response.objects.filter(announced_on__isnull=True, completed_on__isnull=False)


@transaction.atomic
def _history_mark(*, horizon: datetime.date, today: datetime.date) -> int:
    """One UPDATE: mark up to ANNOUNCE_MARK_LIMIT unannounced completions past the horizon
    (bulk imports, seeds, a long outage) or without a completion time, calling nobody."""
    rows = (
        _unannounced()
        .filter(Q(completed_on__lt=horizon) | Q(completed_at__isnull=True))
        .select_for_update(skip_locked=True, no_key=True)
        .order_by()
        .values("pk")[:ANNOUNCE_MARK_LIMIT]
    )
    return Response.objects.filter(pk__in=rows).update(announced_on=_announced_on(today))


@transaction.atomic
def _announce_batch(
    *, now: datetime.datetime, horizon: datetime.date, limit: int, failed: set[int]
) -> tuple[int, int]:
    """Claim up to `limit` unannounced completions past the grace and announce them; returns
    (claimed, marked). The ids whose listeners raised go into `failed`, for the next run."""
    today = timezone.localdate(now)
    ids = list(
        _unannounced()
        .filter(completed_on__gte=horizon, completed_at__lt=now - ANNOUNCE_GRACE)
        .exclude(pk__in=failed)
        .select_for_update(skip_locked=True, no_key=True)
        .order_by("completed_on", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    announced = []
    for response_id in ids:
        try:
            with transaction.atomic():  # a listener that fails undoes its own writes only
                for fn in tuple(_listeners):
                    fn(response_id)
        except Exception:
            logger.exception(
                "Response %s: completion not announced, retried next run.", response_id
            )
            failed.add(response_id)
        else:
            announced.append(response_id)
    return len(ids), Response.objects.filter(pk__in=announced).update(announced_on=today)
