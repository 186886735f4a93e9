"""Requests an integrator gets wrong answer in JSON with a status that says what to fix."""

import json

import pytest

from audiences.models import Person
from tests.factories import make_membership, make_person

pytestmark = pytest.mark.django_db

AT = "2026-11-30T09:30:00+03:00"


def _nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_json_nested_deeper_than_32_levels_is_400(api, world):
    # The list is level 1 and the item level 2, so attributes may hold 30 levels.
    ok = [{"person": "c-1", "touchpoint": "checkout", "occurred_at": AT, "attributes": {}}]
    ok[0]["attributes"] = _nested(30)
    assert api.post("/api/v1/events/", ok, format="json").json()["accepted"] == 1
    ok[0]["attributes"] = _nested(31)
    response = api.post("/api/v1/events/", ok, format="json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Lists and objects may nest at most 32 levels deep."},
    )


def test_json_too_deep_for_the_parser_is_400_not_500(api, world):
    body = "[" * 100_000 + "]" * 100_000
    response = api.post("/api/v1/events/", body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Lists and objects may nest at most 32 levels deep."},
    )


def test_body_over_the_upload_limit_is_413_in_json(api, world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    item = {"person": "c-1", "touchpoint": "checkout", "occurred_at": AT}
    body = json.dumps([{**item, "attributes": {"note": "x" * 2000}}] * 600)
    response = api.post("/api/v1/events/", body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        413,
        {"detail": "The body is larger than 1 MB; send fewer items per request."},
    )


def test_unknown_api_paths_are_json_404s(api, world):
    for method, path in [
        ("get", "/api/v1/nothing/"),
        ("delete", "/api/v2/people/c-1/"),
        ("get", "/api/v1/surveys/not-a-number/"),
    ]:
        response = getattr(api, method)(path)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."}), path


def test_a_path_without_its_trailing_slash_says_so(api, world):
    response = api.post("/api/v1/people", [], format="json")
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "Not found. API paths end with a slash, e.g. /api/v1/people/."},
    )


def test_external_ids_with_slashes_are_read_exported_and_erased(api, world, hr):
    person = make_person("crm/42", email="crm42@example.com")
    make_membership(person, world.customers)
    assert api.get("/api/v1/people/crm/42/").json()["external_id"] == "crm/42"
    assert api.get("/api/v1/people/crm/42/export/").json()["person"]["email"] == (
        "crm42@example.com"
    )
    assert hr.get("/api/v1/people/crm/42/").status_code == 404
    assert api.delete("/api/v1/people/crm/42/").status_code == 204
    assert not Person.objects.filter(external_id="crm/42").exists()


def test_people_errors_name_the_field_inside_memberships(api, world):
    response = api.post(
        "/api/v1/people/",
        [
            {"external_id": "p-1", "audiences": [{"audience": "customers", "attributes": [1]}]},
            {"external_id": "p-2", "audiences": "customers"},
            {"external_id": "p-3", "audiences": [{"audience": "customers"}, "employees"]},
        ],
        format="json",
    )
    assert response.json()["errors"] == [
        {
            "index": 0,
            "field": "audiences[0].attributes",
            "message": 'Expected a dictionary of items but got type "list".',
        },
        {
            "index": 1,
            "field": "audiences",
            "message": 'Expected a list of items but got type "str".',
        },
        {
            "index": 2,
            "field": "audiences[1]",
            "message": "Invalid data. Expected a dictionary, but got str.",
        },
    ]


def test_messages_follow_accept_language(api, world):
    response = api.post("/api/v1/events/", [], format="json", HTTP_ACCEPT_LANGUAGE="tr")
    assert response.json() == {"detail": "Liste boş; en az bir öğe gönderin."}
