"""record_event and events_record_bulk: idempotent, aware times only, new events owed onward."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from journeys.models import TouchpointEvent
from journeys.services import (
    BulkEventError,
    EventItem,
    EventItemProblem,
    event_item_check,
    events_record_bulk,
    record_event,
)
from tests.factories import make_person
from xmplatform.core.models import OutboxMessage
from xmplatform.flows import HANDLERS

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


def owed() -> list[tuple[str, str, list[int]]]:
    """The outbox rows written so far: (event, handler, event ids)."""
    return [
        (m.event, m.handler, m.payload["event_ids"]) for m in OutboxMessage.objects.order_by("id")
    ]


@pytest.mark.django_db
def test_a_new_event_is_owed_to_each_handler_and_a_duplicate_to_none(alice, checkout):  # noqa: ANN001
    event, _ = record_event(
        person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="k"
    )
    record_event(person=alice, touchpoint=checkout, occurred_at=WHEN, idempotency_key="k")

    assert owed() == [("event.recorded", h, [event.pk]) for h in HANDLERS["event.recorded"]]


@pytest.mark.django_db
def test_a_rolled_back_event_owes_nothing(alice, checkout):  # noqa: ANN001
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(person=alice, touchpoint=checkout, occurred_at=WHEN)
        raise RuntimeError("the caller's transaction fails")

    assert (TouchpointEvent.objects.count(), owed()) == (0, [])


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
    assert owed() == []


# --- One check of an item's fields, for this module and the API -----------------------------


@pytest.mark.parametrize(
    ("item", "problems"),
    [
        ("alice", [(None, "Each item must be a JSON object.")]),
        (
            {"person": True, "touchpoint": "", "occurred_at": None},
            [
                ("person", "Name the person by their external id (a text)."),
                ("touchpoint", "Name the touchpoint by its slug (a text)."),
                ("occurred_at", "occurred_at is required (an ISO 8601 date-time)."),
            ],
        ),
        (
            {"person": "p", "touchpoint": "t", "occurred_at": "2026-13-01T09:30:00+00:00"},
            [("occurred_at", "occurred_at 2026-13-01T09:30:00+00:00 is not a valid date-time.")],
        ),
        (
            {"person": "p", "touchpoint": "t", "occurred_at": "yesterday"},
            [("occurred_at", "occurred_at yesterday is not an ISO 8601 date-time.")],
        ),
        (
            {"person": "p", "touchpoint": "t", "occurred_at": dt.datetime(2026, 5, 1)},  # noqa: DTZ001
            [
                (
                    "occurred_at",
                    "occurred_at has no time zone; send an aware time such as "
                    "2025-05-01T09:30:00+03:00.",
                )
            ],
        ),
        (
            {
                "person": "p",
                "touchpoint": "t",
                "occurred_at": WHEN,
                "attributes": [1],
                "idempotency_key": ["k"],
            },
            [
                ("attributes", "attributes must be an object of names to values."),
                ("idempotency_key", "The idempotency key must be a text."),
            ],
        ),
        (
            {"person": "p", "touchpoint": "t", "occurred_at": WHEN, "idempotency_key": "k" * 129},
            [("idempotency_key", "The idempotency key is longer than 128 characters.")],
        ),
    ],
)
def test_an_item_is_refused_field_by_field(item, problems):  # noqa: ANN001
    event, found = event_item_check(item)

    assert event is None
    assert found == [EventItemProblem(f, m) for f, m in problems]


def test_a_good_item_comes_back_typed_with_its_defaults():
    event, problems = event_item_check(
        {
            "person": 42,
            "touchpoint": "t",
            "occurred_at": "2026-05-01T12:30:00+03:00",
            "idempotency_key": "",
        }
    )

    assert problems == []
    assert event == EventItem(
        person="42", touchpoint="t", occurred_at=WHEN, attributes={}, idempotency_key=None
    )


# --- Bulk -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bulk_reports_errors_by_index_and_stores_the_rest(alice, checkout):  # noqa: ANN001
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
        {"person": "bob", "touchpoint": "nowhere", "occurred_at": WHEN, "attributes": [1]},
        {"person": "ghost", "touchpoint": "nowhere", "occurred_at": WHEN},
    ]

    result = events_record_bulk(items=items)

    assert (result.accepted, result.duplicates) == (2, 2)
    assert result.errors == [
        BulkEventError(1, "person", "Unknown person nobody."),
        BulkEventError(
            2,
            "occurred_at",
            "occurred_at has no time zone; send an aware time such as 2025-05-01T09:30:00+03:00.",
        ),
        BulkEventError(6, "attributes", "attributes must be an object of names to values."),
        BulkEventError(7, "person", "Unknown person ghost."),
        BulkEventError(7, "touchpoint", "Unknown touchpoint nowhere."),
    ]
    assert TouchpointEvent.objects.count() == 3
    bob_event = TouchpointEvent.objects.get(person__external_id="bob")
    assert bob_event.occurred_at == WHEN
    assert len(result.event_ids) == 2
    assert owed() == [("event.recorded", h, result.event_ids) for h in HANDLERS["event.recorded"]]


@pytest.mark.django_db
def test_a_batch_of_duplicates_only_owes_nothing(alice, checkout):  # noqa: ANN001
    items = [
        {"person": "alice", "touchpoint": "checkout", "occurred_at": WHEN, "idempotency_key": "d"}
    ]
    first = events_record_bulk(items=items)
    OutboxMessage.objects.all().delete()

    again = events_record_bulk(items=items)

    assert (first.accepted, again.accepted, again.duplicates) == (1, 0, 1)
    assert owed() == []


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
    # 5 INSERT the outbox row of event.recorded (one per handler, one statement)
    # 6 RELEASE SAVEPOINT
    with django_assert_num_queries(6):
        result = events_record_bulk(items=items)

    assert (result.accepted, result.duplicates, result.errors) == (80, 0, [])
