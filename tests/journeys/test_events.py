"""record_event and events_record_bulk: idempotent, aware times only, listeners after commit."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from journeys.hooks import event_listeners, register_event_listener, unregister_event_listener
from journeys.models import TouchpointEvent
from journeys.services import BulkEventError, events_record_bulk, record_event
from tests.factories import make_person

WHEN = dt.datetime(2026, 5, 1, 9, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_same_idempotency_key_twice_stores_one_event(alice, checkout):  # noqa: ANN001
    first, created = record_event(
        person=alice,
        touchpoint=checkout,
        occurred_at=WHEN,
        attributes={"value": 10},
        idempotency_key="order-1",
    )
    again, created_again = record_event(
        person=alice,
        touchpoint=checkout,
        occurred_at=WHEN + dt.timedelta(hours=1),
        attributes={"value": 99},
        idempotency_key="order-1",
    )

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert TouchpointEvent.objects.count() == 1
    stored = TouchpointEvent.objects.get()
    assert (stored.occurred_at, stored.attributes) == (WHEN, {"value": 10})


@pytest.mark.django_db
def test_events_without_key_are_all_stored(alice, checkout):  # noqa: ANN001
    record_event(person=alice, touchpoint=checkout, occurred_at=WHEN)
    record_event(person=alice, touchpoint=checkout, occurred_at=WHEN)

    assert TouchpointEvent.objects.count() == 2


@pytest.mark.django_db
def test_naive_datetime_is_rejected(alice, checkout):  # noqa: ANN001
    with pytest.raises(ValidationError) as info:
        record_event(person=alice, touchpoint=checkout, occurred_at=dt.datetime(2026, 5, 1, 9, 30))  # noqa: DTZ001

    assert info.value.messages == [
        "occurred_at has no time zone; send an aware time such as 2025-05-01T09:30:00+03:00."
    ]
    assert TouchpointEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_listeners_hear_new_events_after_commit_only(alice, checkout, heard):  # noqa: ANN001
    event, _ = record_event(
        person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="k"
    )
    record_event(person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="k")

    assert heard == [[event.pk]]


@pytest.mark.django_db
def test_listeners_wait_for_the_commit(alice, checkout, heard, django_capture_on_commit_callbacks):  # noqa: ANN001
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event, _ = record_event(person=alice, touchpoint=checkout, occurred_at=WHEN)

    assert heard == []
    # Other apps' listeners are registered too; ours is queued once, with the new id.
    ours = [c for c in callbacks if c.func.__name__ == "listener"]
    assert [c.args for c in ours] == [([event.pk],)]


def test_registering_a_listener_twice_keeps_one():
    def listener(event_ids: list[int]) -> None:
        return None

    register_event_listener(listener)
    register_event_listener(listener)
    try:
        assert event_listeners().count(listener) == 1
    finally:
        unregister_event_listener(listener)


@pytest.mark.django_db
def test_concurrent_duplicate_key_returns_stored_event(alice, checkout, needs_postgres):  # noqa: ANN001
    stored = TouchpointEvent.objects.create(
        person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="race"
    )
    # The INSERT fails on the unique constraint inside its savepoint; the outer
    # transaction survives and the stored row is returned.
    event, created = record_event(
        person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="race"
    )

    assert (event.pk, created) == (stored.pk, False)
    assert TouchpointEvent.objects.filter(person=alice).count() == 1


# --- Bulk -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_reports_errors_by_index_and_stores_the_rest(
    alice, checkout, heard, django_capture_on_commit_callbacks
):  # noqa: ANN001
    make_person("bob")
    TouchpointEvent.objects.create(
        person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="seen"
    )
    items = [
        {"person": "alice", "touchpoint": "checkout", "occurred_at": WHEN, "idempotency_key": "a1"},
        {"person": "nobody", "touchpoint": "checkout", "occurred_at": WHEN},
        {"person": "bob", "touchpoint": "nowhere", "occurred_at": "2026-05-01T09:30:00"},
        {"person": "bob", "touchpoint": "checkout", "occurred_at": "2026-05-01T12:30:00+03:00"},
        {
            "person": "alice",
            "touchpoint": "checkout",
            "occurred_at": WHEN,
            "idempotency_key": "seen",
        },
        {"person": "bob", "touchpoint": "checkout", "occurred_at": WHEN, "idempotency_key": "a1"},
        {"person": "bob", "touchpoint": "checkout", "occurred_at": WHEN, "attributes": [1]},
    ]

    with django_capture_on_commit_callbacks(execute=True):
        result = events_record_bulk(items=items)

    assert (result.accepted, result.duplicates) == (2, 2)
    assert result.errors == [
        BulkEventError(index=1, message="Unknown person nobody."),
        BulkEventError(
            index=2,
            message="Unknown touchpoint nowhere. occurred_at has no time zone; send an aware "
            "time such as 2025-05-01T09:30:00+03:00.",
        ),
        BulkEventError(index=6, message="attributes must be an object of names to values."),
    ]
    assert TouchpointEvent.objects.count() == 3
    bob_event = TouchpointEvent.objects.get(person__external_id="bob")
    assert bob_event.occurred_at == WHEN
    assert sorted(heard[0]) == sorted(result.event_ids)
    assert len(result.event_ids) == 2


@pytest.mark.django_db
def test_bulk_query_count_does_not_grow_with_items(alice, checkout, django_assert_num_queries):  # noqa: ANN001
    items = [
        {
            "person": "alice",
            "touchpoint": "checkout",
            "occurred_at": WHEN,
            "idempotency_key": f"k{i}",
        }
        for i in range(40)
    ] + [{"person": "alice", "touchpoint": "checkout", "occurred_at": WHEN} for _ in range(40)]
    # 1 SAVEPOINT
    # 2 SELECT people by external id
    # 3 SELECT touchpoints by slug
    # 4 INSERT all the events … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id (the ids
    #   returned are the new events: stored keys need no lookup, new ids no read-back)
    # 5 RELEASE SAVEPOINT
    with django_assert_num_queries(5):
        result = events_record_bulk(items=items)

    assert (result.accepted, result.duplicates, result.errors) == (80, 0, [])


@pytest.mark.django_db(transaction=True)
def test_a_failing_listener_does_not_silence_the_others(alice, checkout, heard):  # noqa: ANN001
    def broken(event_ids: list[int]) -> None:
        raise RuntimeError("listener bug")

    register_event_listener(broken)
    try:
        event, created = record_event(person=alice, touchpoint=checkout, occurred_at=WHEN)
    finally:
        unregister_event_listener(broken)

    assert created is True
    assert heard == [[event.pk]]
    assert TouchpointEvent.objects.filter(pk=event.pk).exists()
