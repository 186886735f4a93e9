"""Two systems posting batches that share idempotency keys, in opposite orders, at the same
moment: every key is stored once and counted once, and neither batch fails (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from journeys.models import TouchpointEvent
from tests.api.conftest import client_for

ROUNDS = 4
KEYS = 300
AT = "2026-11-30T09:30:00+03:00"


def _batch(round_: int, reverse: bool) -> list[dict]:
    keys = [f"r{round_}-k{i}" for i in range(KEYS)]
    if reverse:
        keys.reverse()
    return [
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": k}
        for k in keys
    ]


def _post_both_at_once(key: str, round_: int) -> list[dict]:
    barrier = threading.Barrier(2)
    replies: list[dict] = []
    errors: list[BaseException] = []

    def post(reverse: bool) -> None:
        try:
            client = client_for(key)
            body = _batch(round_, reverse)
            barrier.wait(timeout=10)
            reply = client.post("/api/v1/events/", body, format="json")
            replies.append({"status": reply.status_code, **reply.json()})
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(r,)) for r in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return replies


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_sharing_keys_store_each_event_once(needs_postgres, world, full_key):
    for round_ in range(ROUNDS):
        replies = _post_both_at_once(full_key, round_)
        assert [r["status"] for r in replies] == [200, 200]
        assert sum(r["accepted"] for r in replies) == KEYS
        assert sum(r["duplicates"] for r in replies) == KEYS
        assert all(r["errors"] == [] for r in replies)
    assert TouchpointEvent.objects.count() == ROUNDS * KEYS
