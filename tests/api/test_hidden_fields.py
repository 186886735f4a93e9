"""Hidden fields through the API: declared on a survey, given by an invitation's data or an
event's attributes, kept with the response, listed, sliced and checked."""

import datetime as dt

from journeys.models import TouchpointEvent
from surveys.distribution.planning import invitations_plan_for_events
from surveys.models import (
    DistributionRule,
    Invitation,
    Question,
    QuestionType,
    Response,
    RuleKind,
)
from surveys.people import surveys_person_erase, surveys_person_export

AT = "2026-11-30T10:00:00+03:00"


def _survey_body(world, **extra):  # noqa: ANN001, ANN003, ANN202
    return {
        "name": "Delivery",
        "audience": "customers",
        "status": "live",
        "title": {"en": "Your delivery", "tr": "Teslimatınız"},
        "hidden_fields": ["order_id", "store"],
        "questions": [
            {
                "key": "csat",
                "type": "csat",
                "label": {"en": "How was your order {order_id}?", "tr": "{order_id} nasıldı?"},
            },
            {
                "key": "kadikoy",
                "type": "text",
                "page": 2,
                "required": False,
                "label": {"en": "Anything about Kadıköy?", "tr": "Kadıköy?"},
                "show_if": {"field": "store", "op": "eq", "value": "Kadıköy"},
            },
        ],
        **extra,
    }


def test_a_survey_declares_its_hidden_fields_and_bad_names_are_refused(api, world):
    created = api.post("/api/v1/surveys/", _survey_body(world), format="json")
    assert created.status_code == 201, created.json()
    survey_id = created.json()["id"]
    detail = api.get(f"/api/v1/surveys/{survey_id}/").json()
    assert detail["hidden_fields"] == ["order_id", "store"]
    assert detail["questions"][1]["show_if"] == {"field": "store", "op": "eq", "value": "Kadıköy"}
    listed = {s["id"]: s["hidden_fields"] for s in api.get("/api/v1/surveys/").json()}
    assert listed[survey_id] == ["order_id", "store"]

    cases = [
        (["1st"], "“1st” is not a valid hidden field name"),
        (["store", "store"], "The hidden field “store” is named twice."),
        (["csat"], "The hidden field “csat” has the key of a question; rename one."),
        (["sig"], "“sig” is reserved for the survey pages' links."),
        # The kept question tests "store": it cannot go.
        (["order_id"], "kadikoy: The condition refers to an unknown hidden field “store”."),
    ]
    for names, message in cases:
        response = api.patch(
            f"/api/v1/surveys/{survey_id}/", {"hidden_fields": names}, format="json"
        )
        assert response.status_code == 400, names
        assert message in " ".join(response.json()["hidden_fields"]), names

    wrong_op = _survey_body(world)
    wrong_op["questions"][1]["show_if"] = {"field": "store", "op": "gte", "value": 3}
    response = api.post("/api/v1/surveys/", wrong_op, format="json")
    assert response.status_code == 400
    assert response.json()["questions[1].show_if"] == [
        "The operator “gte” cannot test a hidden field."
    ]


def test_an_anonymous_survey_refuses_fields_that_name_a_person(hr, world):
    world.employee_survey.title = {"en": "Pulse", "tr": "Nabız"}
    world.employee_survey.save()
    url = f"/api/v1/surveys/{world.employee_survey.pk}/"
    for name in ("email", "employee_id", "full_name", "work_phone", "External_Id", "user"):
        response = hr.patch(url, {"hidden_fields": ["team", name]}, format="json")
        assert response.status_code == 400, name
        assert response.json()["hidden_fields"] == [
            f"An anonymous survey cannot have the hidden field “{name}”: it would say whom a "
            "response is from."
        ]
    response = hr.patch(url, {"hidden_fields": ["team", "store"]}, format="json")
    assert response.status_code == 200
    assert response.json()["hidden_fields"] == ["team", "store"]


def test_invitation_data_goes_with_the_response_and_the_responses_list(api, world):
    world.customer_survey.hidden_fields = ["order_id", "store"]
    world.customer_survey.save()
    body = {"survey": world.customer_survey.pk, "person": "c-1", "channel": "api"}

    unknown = api.post("/api/v1/invitations/", {**body, "data": {"coupon": "X"}}, format="json")
    assert unknown.status_code == 400
    assert unknown.json() == {"data": ["coupon: “coupon” is not a hidden field of this survey."]}
    nested = api.post("/api/v1/invitations/", {**body, "data": {"store": ["a"]}}, format="json")
    assert nested.json() == {"data": ["store: A hidden field value is text or a number."]}
    assert Invitation.objects.count() == 0

    data = {"order_id": 1042, "store": "Kadıköy"}
    created = api.post("/api/v1/invitations/", {**body, "data": data}, format="json")
    assert created.status_code == 201
    assert Invitation.objects.get().data == {"order_id": "1042", "store": "Kadıköy"}
    answered = api.post(
        "/api/v1/responses/",
        {"token": created.json()["token"], "answers": {"nps": 9}},
        format="json",
    )
    assert answered.status_code == 201
    assert answered.json()["data"] == {"order_id": "1042", "store": "Kadıköy"}
    listed = api.get(f"/api/v1/surveys/{world.customer_survey.pk}/responses/").json()
    assert [r["data"] for r in listed["results"]] == [{"order_id": "1042", "store": "Kadıköy"}]
    assert Response.objects.get().data == {"order_id": "1042", "store": "Kadıköy"}

    by_store = api.get(
        "/api/v1/scores/",
        {"audience": "customers", "metric": "nps", "by": "field:store"},
    ).json()["results"]
    assert by_store == [{"group": "Kadıköy", "score": 100.0, "n": 1, "margin": 0.0}]
    bad = api.get("/api/v1/scores/", {"audience": "customers", "metric": "nps", "by": "field:"})
    assert bad.json() == {"by": "Name a hidden field after field:, e.g. field:store."}

    # The person's export carries them; their erasure takes them (an order id leads to them).
    exported = surveys_person_export(person_id=world.ayse.pk)["responses"]
    assert [r["data"] for r in exported] == [{"order_id": "1042", "store": "Kadıköy"}]
    surveys_person_erase(person_id=world.ayse.pk)
    assert (Response.objects.get().data, Invitation.objects.get().data) == ({}, {})


def test_an_anonymous_invitation_refuses_values_that_point_to_the_person(hr, world):
    world.employee_survey.hidden_fields = ["team"]
    world.employee_survey.save()
    body = {"survey": world.employee_survey.pk, "person": "e-1", "channel": "email"}
    refused = (
        "team: This survey is anonymous: a hidden field value cannot be an e-mail address or "
        "the person's phone, name or external id."
    )
    for value in ("emre@example.com", "E-1", "Emre Kaya", "someone@else.org"):
        response = hr.post("/api/v1/invitations/", {**body, "data": {"team": value}}, format="json")
        assert response.json() == {"data": [refused]}, value
    response = hr.post("/api/v1/invitations/", {**body, "data": {"team": "Sales"}}, format="json")
    assert response.status_code == 201
    assert Invitation.objects.get().data == {"team": "Sales"}


def test_a_trigger_copies_the_named_attributes_of_its_event(world):
    world.customer_survey.hidden_fields = ["order_id", "store"]
    world.customer_survey.save()
    DistributionRule.objects.create(
        survey=world.customer_survey, name="after checkout", kind=RuleKind.TRIGGER
    )
    event = TouchpointEvent.objects.create(
        person=world.ayse,
        touchpoint=world.checkout,
        occurred_at=dt.datetime.fromisoformat(AT),
        attributes={"order_id": "A-7", "store": "Moda", "amount": 120, "coupon": "x"},
    )

    assert invitations_plan_for_events(event_ids=[event.pk]) == 1
    assert Invitation.objects.get().data == {"order_id": "A-7", "store": "Moda"}


def test_an_anonymous_trigger_leaves_out_values_that_point_to_the_person(world):
    world.employee_survey.hidden_fields = ["team", "office"]
    world.employee_survey.touchpoint = world.onboarding
    world.employee_survey.save()
    Question.objects.filter(survey=world.employee_survey).update(type=QuestionType.NPS)
    DistributionRule.objects.create(
        survey=world.employee_survey, name="after onboarding", kind=RuleKind.TRIGGER
    )
    event = TouchpointEvent.objects.create(
        person=world.emre,
        touchpoint=world.onboarding,
        occurred_at=dt.datetime.fromisoformat(AT),
        attributes={"team": "emre@example.com", "office": "Levent"},
    )

    assert invitations_plan_for_events(event_ids=[event.pk]) == 1
    assert Invitation.objects.get().data == {"office": "Levent"}
