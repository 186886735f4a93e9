"""A key for the employee audience cannot read, write or even detect customer objects."""

import pytest
from django.utils import timezone

from audiences.models import Membership, Person
from journeys.models import TouchpointEvent
from surveys.models import Invitation
from surveys.services import invitation_create
from tests.factories import make_membership

pytestmark = pytest.mark.django_db


def test_audience_list_shows_only_the_keys_audiences(hr, api, world):
    assert [a["slug"] for a in hr.get("/api/v1/audiences/").json()] == ["employees"]
    assert sorted(a["slug"] for a in api.get("/api/v1/audiences/").json()) == [
        "customers",
        "employees",
    ]


def test_other_audiences_objects_answer_404_like_missing_ones(hr, world):
    survey = world.customer_survey.pk
    pairs = [
        ("/api/v1/audiences/customers/", "/api/v1/audiences/zz/"),
        ("/api/v1/people/c-1/", "/api/v1/people/zz-9/"),
        ("/api/v1/people/c-1/export/", "/api/v1/people/zz-9/export/"),
        (f"/api/v1/surveys/{survey}/", "/api/v1/surveys/999999/"),
        (f"/api/v1/surveys/{survey}/responses/", "/api/v1/surveys/999999/responses/"),
    ]
    for hidden_url, missing_url in pairs:
        hidden, missing = hr.get(hidden_url), hr.get(missing_url)
        assert hidden.status_code == 404, hidden_url
        assert hidden.json() == missing.json() == {"detail": "Not found."}, hidden_url
    assert hr.delete("/api/v1/people/c-1/").status_code == 404
    assert Person.objects.filter(external_id="c-1").exists()


def test_scores_of_another_audience_are_404(hr, world):
    response = hr.get("/api/v1/scores/?audience=customers&metric=nps")
    assert response.status_code == 404


def test_lists_leave_out_other_audiences(hr, world):
    invitation_create(survey=world.customer_survey, person=world.ayse, channel="email")
    assert [s["name"] for s in hr.get("/api/v1/surveys/").json()] == ["Pulse"]
    assert hr.get("/api/v1/invitations/").json()["results"] == []
    assert hr.get(f"/api/v1/invitations/?survey={world.customer_survey.pk}").json()["results"] == []


def test_events_for_other_audiences_read_like_unknown_ones(hr, world):
    now = timezone.now().isoformat()
    response = hr.post(
        "/api/v1/events/",
        [
            {"person": "c-1", "touchpoint": "checkout", "occurred_at": now},
            {"person": "zz-9", "touchpoint": "nowhere", "occurred_at": now},
            {"person": "e-1", "touchpoint": "checkout", "occurred_at": now},
            {"person": "e-1", "touchpoint": "onboarding", "occurred_at": now},
        ],
        format="json",
    )
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "errors": [
            {"index": 0, "field": "person", "message": "Unknown person c-1."},
            {"index": 0, "field": "touchpoint", "message": "Unknown touchpoint checkout."},
            {"index": 1, "field": "person", "message": "Unknown person zz-9."},
            {"index": 1, "field": "touchpoint", "message": "Unknown touchpoint nowhere."},
            {"index": 2, "field": "touchpoint", "message": "Unknown touchpoint checkout."},
        ],
    }
    assert list(TouchpointEvent.objects.values_list("person__external_id", "touchpoint__slug")) == [
        ("e-1", "onboarding")
    ]


def test_people_posts_cannot_reach_other_audiences(hr, world):
    response = hr.post(
        "/api/v1/people/",
        [
            {"external_id": "e-2", "audiences": [{"audience": "customers"}]},
            {"external_id": "e-3", "audiences": [{"audience": "nope"}]},
            {"external_id": "c-1", "name": "Changed", "audiences": [{"audience": "employees"}]},
            {"external_id": "e-4"},
            {"external_id": "e-5", "audiences": [{"audience": "employees"}]},
        ],
        format="json",
    )
    assert response.json()["errors"] == [
        {"index": 0, "field": "audiences[0].audience", "message": "Unknown audience customers."},
        {"index": 1, "field": "audiences[0].audience", "message": "Unknown audience nope."},
        {
            "index": 2,
            "field": "external_id",
            "message": "This external id cannot be used with this key.",
        },
        {
            "index": 3,
            "field": "audiences",
            "message": "This key is limited to some audiences: name at least one of them.",
        },
    ]
    assert response.json()["created"] == 1
    assert Person.objects.get(external_id="c-1").name == "Ayşe Yılmaz"
    assert list(
        Membership.objects.filter(person__external_id="e-5").values_list(
            "audience__slug", flat=True
        )
    ) == ["employees"]


def test_invitations_and_responses_for_other_audiences_are_unknown(hr, world):
    _inv, token = invitation_create(
        survey=world.customer_survey, person=world.ayse, channel="email"
    )
    response = hr.post(
        "/api/v1/invitations/",
        {"survey": world.customer_survey.pk, "person": "c-1", "channel": "api"},
        format="json",
    )
    assert (response.status_code, response.json()) == (
        400,
        {"survey": [f"Unknown survey {world.customer_survey.pk}."]},
    )
    posted = hr.post("/api/v1/responses/", {"token": token, "answers": {"nps": 9}}, format="json")
    assert (posted.status_code, posted.json()) == (400, {"token": ["Unknown token."]})
    assert Invitation.objects.count() == 1


def test_scoped_key_cannot_create_audiences(hr, world):
    response = hr.post(
        "/api/v1/audiences/",
        {"slug": "fans", "name": "Fans", "kind": "fan", "owner": "customers-owner"},
        format="json",
    )
    assert response.status_code == 403


def test_erasing_a_person_who_is_also_in_another_audience_needs_a_key_for_all(hr, api, world):
    make_membership(world.emre, world.customers)
    response = hr.delete("/api/v1/people/e-1/")
    assert response.status_code == 409
    assert Person.objects.filter(external_id="e-1").exists()
    assert api.delete("/api/v1/people/e-1/").status_code == 204


def test_export_for_a_scoped_key_holds_only_its_audiences(hr, world):
    make_membership(world.emre, world.customers)
    TouchpointEvent.objects.create(
        person=world.emre, touchpoint=world.checkout, occurred_at=timezone.now()
    )
    TouchpointEvent.objects.create(
        person=world.emre, touchpoint=world.onboarding, occurred_at=timezone.now()
    )
    invitation_create(survey=world.customer_survey, person=world.emre, channel="email")
    body = hr.get("/api/v1/people/e-1/export/").json()
    assert [m["audience"] for m in body["memberships"]] == ["employees"]
    assert [e["touchpoint"] for e in body["events"]] == ["onboarding"]
    assert body["invitations"] == []
    assert [m["audience"] for m in hr.get("/api/v1/people/e-1/").json()["audiences"]] == [
        "employees"
    ]
