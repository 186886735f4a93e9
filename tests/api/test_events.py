"""POST /api/v1/events/: batches of touchpoint events, idempotent, firing distribution triggers."""

import datetime as dt

import pytest

from journeys.models import TouchpointEvent
from surveys.distribution.models import FatiguePolicy
from surveys.models import DistributionRule, Invitation, InvitationState, RuleKind

pytestmark = pytest.mark.django_db

AT = "2026-11-30T09:30:00+03:00"


def test_events_are_accepted_and_duplicates_counted(api, world):
    body = [
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": "o-1"},
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": "o-1"},
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "attributes": {"value": 42}},
    ]
    first = api.post("/api/v1/events/", body, format="json")
    assert first.status_code == 200
    assert first.json() == {"accepted": 2, "duplicates": 1, "errors": []}
    again = api.post("/api/v1/events/", body[:1], format="json")
    assert again.json() == {"accepted": 0, "duplicates": 1, "errors": []}
    assert TouchpointEvent.objects.count() == 2
    event = TouchpointEvent.objects.get(idempotency_key="o-1")
    assert event.occurred_at == dt.datetime(2026, 11, 30, 6, 30, tzinfo=dt.UTC)


def test_bad_events_are_reported_by_index_and_good_ones_stored(api, world):
    response = api.post(
        "/api/v1/events/",
        [
            {"person": "nobody", "touchpoint": "checkout", "occurred_at": AT},
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": "2026-11-30T09:30:00"},
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": "2026-13-45T09:30:00+00:00"},
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": "yesterday"},
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "attributes": [1]},
            42,
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT},
        ],
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "errors": [
            {"index": 0, "field": "person", "message": "Unknown person nobody."},
            {
                "index": 1,
                "field": "occurred_at",
                "message": "occurred_at has no time zone; send an aware time such as "
                "2025-05-01T09:30:00+03:00.",
            },
            {
                "index": 2,
                "field": "occurred_at",
                "message": "occurred_at 2026-13-45T09:30:00+00:00 is not a valid date-time.",
            },
            {
                "index": 3,
                "field": "occurred_at",
                "message": "occurred_at yesterday is not an ISO 8601 date-time.",
            },
            {
                "index": 4,
                "field": "attributes",
                "message": "attributes must be an object of names to values.",
            },
            {"index": 5, "field": None, "message": "Each item must be a JSON object."},
        ],
    }
    assert TouchpointEvent.objects.count() == 1


def test_wrong_types_are_reported_by_field(api, world):
    response = api.post(
        "/api/v1/events/",
        [
            {"person": ["c-1"], "touchpoint": "checkout", "occurred_at": AT},
            {"person": "c-1", "occurred_at": 1764484200},
            {"person": "c-1", "touchpoint": "checkout"},
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": {}},
            {
                "person": "c-1",
                "touchpoint": "checkout",
                "occurred_at": AT,
                "idempotency_key": "k" * 129,
            },
        ],
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 0,
        "duplicates": 0,
        "errors": [
            {
                "index": 0,
                "field": "person",
                "message": "Name the person by their external id (a text).",
            },
            {
                "index": 1,
                "field": "touchpoint",
                "message": "Name the touchpoint by its slug (a text).",
            },
            {
                "index": 1,
                "field": "occurred_at",
                "message": "occurred_at 1764484200 is not an ISO 8601 date-time.",
            },
            {
                "index": 2,
                "field": "occurred_at",
                "message": "occurred_at is required (an ISO 8601 date-time).",
            },
            {
                "index": 3,
                "field": "idempotency_key",
                "message": "The idempotency key must be a text.",
            },
            {
                "index": 4,
                "field": "idempotency_key",
                "message": "The idempotency key is longer than 128 characters.",
            },
        ],
    }
    assert TouchpointEvent.objects.count() == 0


def test_stored_events_keep_their_attributes_time_and_key(api, world):
    body = [
        {
            "person": "c-1",
            "touchpoint": "checkout",
            "occurred_at": "2026-11-30T09:30:00.250000+03:00",
            "idempotency_key": 7,
            "attributes": {"order": "A-1", "value": 49.9, "items": [1, 2], "gift": None},
        },
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": "7"},
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": ""},
    ]
    response = api.post("/api/v1/events/", body, format="json")
    assert response.json() == {"accepted": 2, "duplicates": 1, "errors": []}
    keyed = TouchpointEvent.objects.get(idempotency_key="7")
    assert (keyed.person_id, keyed.touchpoint_id) == (world.ayse.pk, world.checkout.pk)
    assert keyed.occurred_at == dt.datetime(2026, 11, 30, 6, 30, 0, 250000, tzinfo=dt.UTC)
    assert keyed.attributes == {"order": "A-1", "value": 49.9, "items": [1, 2], "gift": None}
    unkeyed = TouchpointEvent.objects.get(idempotency_key=None)
    assert unkeyed.attributes == {}
    assert keyed.recorded_at == unkeyed.recorded_at


def test_more_than_1000_events_are_refused_whole(api, world):
    body = [{"person": "c-1", "touchpoint": "checkout", "occurred_at": AT}] * 1001
    response = api.post("/api/v1/events/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Send at most 1000 items per request (this one has 1001)."}
    assert TouchpointEvent.objects.count() == 0


def test_events_fire_the_distribution_triggers(api, world, django_capture_on_commit_callbacks):
    # No quiet hours: the send must not depend on the hour the test runs at.
    FatiguePolicy.objects.update_or_create(
        audience=None, defaults={"quiet_start": dt.time(0), "quiet_end": dt.time(0)}
    )
    DistributionRule.objects.create(
        survey=world.customer_survey,
        name="after checkout",
        kind=RuleKind.TRIGGER,
        channels=["email"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/events/",
            [{"person": "c-1", "touchpoint": "checkout", "occurred_at": AT}],
            format="json",
        )
    assert response.json()["accepted"] == 1
    invitation = Invitation.objects.get()
    # Planned due now, it is sent at once (invitation.due), not at the minute's sweep.
    assert (invitation.person_id, invitation.survey_id, invitation.state, invitation.channel) == (
        world.ayse.pk,
        world.customer_survey.pk,
        InvitationState.SENT,
        "email",
    )
    assert invitation.event_id == TouchpointEvent.objects.get().pk


def test_1000_keyed_events_cost_a_constant_number_of_queries(api, world, django_assert_num_queries):
    body = [
        {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "idempotency_key": f"k-{i}"}
        for i in range(1000)
    ]
    # 1 the key by its prefix
    # 2 its audiences
    # 3 UPDATE its last use
    # 4 people by external id
    # 5 touchpoints by slug
    # 6 SAVEPOINT
    # 7 INSERT … SELECT from the JSON of all the rows … ON CONFLICT DO NOTHING RETURNING id
    # 8 INSERT the outbox row of event.recorded (the triggers' planning, after commit)
    # 9 RELEASE SAVEPOINT
    with django_assert_num_queries(9):
        response = api.post("/api/v1/events/", body, format="json")
    assert response.json() == {"accepted": 1000, "duplicates": 0, "errors": []}
