"""POST/GET/DELETE people: set-based upsert with per-item errors, export and erasure."""

import pytest
from django.apps import apps
from django.db import connection, models

from audiences.models import AuditLog, Consent, ConsentStatus, Membership, Person
from journeys.models import TouchpointEvent
from surveys.models import Answer, Invitation, Response
from surveys.services import invitation_create
from xmplatform.api.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_people_are_created_and_updated_by_external_id(api, world):
    response = api.post(
        "/api/v1/people/",
        [
            {"external_id": "c-1", "name": "Ayşe Demir"},
            {
                "external_id": "c-2",
                "email": "john@example.com",
                "language": "en",
                "time_zone": "Europe/London",
                "audiences": [
                    {"audience": "customers", "segment": "basic", "attributes": {"plan": "gold"}}
                ],
            },
        ],
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "memberships_created": 1,
        "memberships_updated": 0,
        "errors": [],
    }
    assert Person.objects.get(external_id="c-1").name == "Ayşe Demir"
    john = Person.objects.get(external_id="c-2")
    assert (john.email, john.language, john.time_zone) == (
        "john@example.com",
        "en",
        "Europe/London",
    )
    membership = Membership.objects.get(person=john)
    assert (membership.audience.slug, membership.segment, membership.attributes) == (
        "customers",
        "basic",
        {"plan": "gold"},
    )


def test_posting_the_same_people_again_changes_nothing(api, world):
    body = [
        {"external_id": "c-9", "email": "x@example.com", "audiences": [{"audience": "customers"}]}
    ]
    api.post("/api/v1/people/", body, format="json")
    again = api.post("/api/v1/people/", body, format="json").json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 1)
    assert (again["memberships_created"], again["memberships_updated"]) == (0, 0)


def test_valid_people_are_stored_when_others_fail(api, world):
    response = api.post(
        "/api/v1/people/",
        [
            {"external_id": "ok-1"},
            {"external_id": "bad-1", "email": "not-an-address"},
            {"email": "a@example.com"},
            {"external_id": "ok-1"},
            {"external_id": "bad-2", "time_zone": "Mars/Olympus"},
            {"external_id": "bad-3", "audiences": [{"audience": "fans"}]},
            "not an object",
            {"external_id": "ok-2", "language": "tr"},
        ],
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 2
    assert body["errors"] == [
        {"index": 1, "field": "email", "message": "Enter a valid email address."},
        {"index": 2, "field": "external_id", "message": "This field is required."},
        {"index": 3, "field": "external_id", "message": "ok-1 is already at index 0 of this list."},
        {
            "index": 4,
            "field": "time_zone",
            "message": "Unknown time zone Mars/Olympus; use an IANA name such as Europe/Istanbul.",
        },
        {"index": 5, "field": "audiences[0].audience", "message": "Unknown audience fans."},
        {"index": 6, "field": None, "message": "Each item must be a JSON object."},
    ]
    assert set(
        Person.objects.filter(external_id__startswith="ok-").values_list("external_id", flat=True)
    ) == {"ok-1", "ok-2"}
    assert not Person.objects.filter(external_id__startswith="bad-").exists()


def test_more_than_1000_people_are_refused_whole(api, world):
    response = api.post(
        "/api/v1/people/", [{"external_id": f"p-{i}"} for i in range(1001)], format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Send at most 1000 items per request (this one has 1001)."}
    assert Person.objects.count() == 2


def test_1000_people_are_upserted_in_a_constant_number_of_queries(
    api, world, django_assert_num_queries
):
    body = [
        {
            "external_id": f"p-{i}",
            "email": f"p{i}@example.com",
            "audiences": [{"audience": "customers"}],
        }
        for i in range(1000)
    ]
    # key, its audiences, last-used UPDATE (first use), audiences named; savepoint, savepoint,
    # people by external id, INSERT people, release; savepoint, people by external id,
    # memberships of the audience, INSERT memberships, release, release: 15. SQLite splits each
    # INSERT into batches of its bound-parameter limit (9 + 6 more statements).
    with django_assert_num_queries(30 if connection.vendor == "sqlite" else 15):
        response = api.post("/api/v1/people/", body, format="json")
    assert response.json()["created"] == 1000
    assert Membership.objects.filter(audience=world.customers).count() == 1001


def test_body_that_is_not_a_list_is_a_clear_400(api, world):
    response = api.post("/api/v1/people/", {"external_id": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Send a JSON list of items."}


def test_malformed_json_is_400(api, world):
    response = api.post("/api/v1/people/", "[{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_person_is_read_with_memberships(api, world):
    response = api.get("/api/v1/people/c-1/")
    assert response.status_code == 200
    body = response.json()
    assert (body["external_id"], body["email"], body["name"]) == (
        "c-1",
        "ayse@example.com",
        "Ayşe Yılmaz",
    )
    assert body["audiences"] == [
        {
            "audience": "customers",
            "segment": "premium",
            "attributes": {},
            "joined_on": None,
            "left_on": None,
        }
    ]


def test_unknown_person_is_404(api, world):
    assert api.get("/api/v1/people/nobody/").status_code == 404
    assert api.get("/api/v1/people/nobody/export/").status_code == 404
    assert api.delete("/api/v1/people/nobody/").status_code == 404


def test_export_holds_memberships_events_invitations_and_named_responses(api, world):
    from django.utils import timezone

    TouchpointEvent.objects.create(
        person=world.ayse, touchpoint=world.checkout, occurred_at=timezone.now()
    )
    invitation, _token = invitation_create(
        survey=world.customer_survey, person=world.ayse, channel="email"
    )
    Response.objects.create(
        survey=world.customer_survey,
        audience=world.customers,
        person=world.ayse,
        invitation=invitation,
        channel="email",
        language="en",
        completed_on=timezone.localdate(),
    )
    body = api.get("/api/v1/people/c-1/export/").json()
    assert body["person"]["email"] == "ayse@example.com"
    assert [m["audience"] for m in body["memberships"]] == ["customers"]
    assert [e["touchpoint"] for e in body["events"]] == ["checkout"]
    assert [i["id"] for i in body["invitations"]] == [invitation.pk]
    assert [r["survey"] for r in body["responses"]] == ["Checkout NPS"]


def _text_columns() -> list[tuple[str, str]]:
    columns = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(
                field, models.CharField | models.TextField | models.JSONField | models.EmailField
            ):
                columns.append((model._meta.db_table, field.column))
    return columns


def _tables_holding(text: str) -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            q = connection.ops.quote_name
            cursor.execute(
                f"SELECT COUNT(*) FROM {q(table)} WHERE CAST({q(column)} AS TEXT) LIKE %s",  # noqa: S608
                [f"%{text}%"],
            )
            if cursor.fetchone()[0]:
                found.append(f"{table}.{column}")
    return sorted(found)


def test_erasure_leaves_the_email_in_no_table_and_keeps_anonymous_aggregates(
    api, world, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    # A webhook whose receiver is down keeps the response's payload in its delivery log.
    Webhook.objects.create(name="CRM", url="http://127.0.0.1:9/down", secret="s" * 64)

    TouchpointEvent.objects.create(
        person=world.ayse,
        touchpoint=world.checkout,
        occurred_at=timezone.now(),
        attributes={"note": "ayse@example.com"},
    )
    Consent.objects.create(
        person=world.ayse, channel="email", status=ConsentStatus.GRANTED, source="crm"
    )
    invitation, token = invitation_create(
        survey=world.customer_survey, person=world.ayse, channel="email"
    )
    with django_capture_on_commit_callbacks(execute=True):
        posted = api.post(
            "/api/v1/responses/",
            {"token": token, "answers": {"nps": 3, "improve": "write to ayse@example.com"}},
            format="json",
        )
    assert posted.status_code == 201
    assert _tables_holding("ayse@example.com") == [
        "api_webhookdelivery.payload",
        "audiences_person.email",
        "journeys_touchpointevent.attributes",
        "surveys_answer.text",
    ]

    with django_capture_on_commit_callbacks(execute=True):  # the apps above finish it
        response = api.delete("/api/v1/people/c-1/")

    assert response.status_code == 204
    assert _tables_holding("ayse@example.com") == []
    assert _tables_holding("Ayşe Yılmaz") == []
    assert not Person.objects.filter(external_id="c-1").exists()
    kept = Response.objects.get(pk=posted.json()["id"])
    assert (kept.person_id, kept.invitation_id, kept.completed_at) == (None, None, None)
    assert list(Answer.objects.filter(response=kept).values_list("question__key", "number")) == [
        ("nps", 3)
    ]
    assert Invitation.objects.get(pk=invitation.pk).person_id is None
    assert api.get("/api/v1/people/c-1/").status_code == 404
    assert WebhookDelivery.objects.count() == 0


def test_export_and_erasure_through_the_api_are_audited_by_key(api, world, full_key):
    prefix = full_key.split("_")[1]
    person_id = world.ayse.pk
    assert api.get("/api/v1/people/c-1/export/").status_code == 200
    assert api.delete("/api/v1/people/c-1/").status_code == 204
    entries = list(
        AuditLog.objects.order_by("id").values_list(
            "actor_id", "actor_username", "action", "audience__slug", "target"
        )
    )
    assert entries == [
        (None, f"API key CRM ({prefix})", "person_exported", "customers", f"person {person_id}"),
        (None, f"API key CRM ({prefix})", "person_erased", "customers", f"person {person_id}"),
    ]
    assert AuditLog.objects.get(action="person_erased").detail["memberships"] == 1
