"""Authoring surveys through the API: POST creates, PATCH changes with GET's own shape, checked
as the builder checks, versioned once answered, and only within the key's audiences."""

import pytest

from surveys.models import Answer, Question, Response, Survey, SurveyVersion
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

TEXTS = {"en": "Your visit", "tr": "Ziyaretiniz"}


def nps(**extra):  # noqa: ANN003, ANN201
    return {
        "key": "nps",
        "type": "nps",
        "label": {"en": "Recommend us?", "tr": "Önerir misiniz?"},
        **extra,
    }


def text(key: str, **extra):  # noqa: ANN003, ANN201
    return {"key": key, "type": "text", "label": {"en": key, "tr": key}, **extra}


def create(api, **body):  # noqa: ANN001, ANN003, ANN201
    body = {"name": "Visit", "audience": "customers", "title": TEXTS, **body}
    return api.post("/api/v1/surveys/", body, format="json")


def test_post_creates_a_survey_with_defaults_and_get_returns_the_same_shape(api, world):
    created = create(api, questions=[nps(), text("why", page=2, required=False)])

    assert created.status_code == 201, created.json()
    body = created.json()
    survey = Survey.objects.get(pk=body["id"])
    assert (survey.status, survey.anonymous, survey.languages) == ("draft", False, ["tr", "en"])
    assert body["default_language"] == "tr"
    assert (body["intro"], body["thank_you"], body["version"]) == ({}, {}, 1)
    assert body["questions"][0] == {
        "key": "nps",
        "type": "nps",
        "required": True,
        "page": 1,
        "order": 1,
        "label": {"en": "Recommend us?", "tr": "Önerir misiniz?"},
        "help": {},
        "choices": [],
        "scale": {"min": 0, "max": 10},
        "multiline": False,
        "show_if": None,
    }
    assert api.get(f"/api/v1/surveys/{survey.pk}/").json() == body


def test_patching_back_what_get_returned_changes_nothing(api, world):
    survey = world.customer_survey
    before = api.get(f"/api/v1/surveys/{survey.pk}/").json()

    patched = api.patch(f"/api/v1/surveys/{survey.pk}/", before, format="json")

    # The survey's languages are tr and en, but two of its questions have English only.
    assert patched.status_code == 400
    assert set(patched.json()) == {
        "questions[1].label",
        "questions[2].label",
        "questions[2].choices[0].label",
        "questions[2].choices[1].label",
    }
    fixed = [{**q, "label": {"tr": "Türkçe", **q["label"]}} for q in before["questions"]]
    fixed[2]["choices"] = [
        {"value": c["value"], "label": {"tr": "Türkçe", **c["label"]}} for c in fixed[2]["choices"]
    ]
    fixed[1]["page"] = 2  # its display logic looks at "nps", which must be on an earlier page
    patched = api.patch(f"/api/v1/surveys/{survey.pk}/", {"questions": fixed}, format="json")
    assert patched.status_code == 200, patched.json()
    again = api.patch(f"/api/v1/surveys/{survey.pk}/", patched.json(), format="json")
    assert again.json() == patched.json()
    assert SurveyVersion.objects.filter(survey=survey).count() == 1


def test_a_show_if_on_a_later_or_unknown_question_is_400_naming_the_field(api, world):
    later = text("why", show_if={"question": "nps", "op": "lte", "value": 6})
    unknown = text("how", page=2, show_if={"question": "nope", "op": "answered"})

    refused = create(api, questions=[later, nps(), unknown])

    assert refused.status_code == 400
    assert refused.json() == {
        "questions[0].show_if": ["The condition refers to “nps”, which is not on an earlier page."],
        "questions[2].show_if": ["The condition refers to an unknown question “nope”."],
    }
    assert not Survey.objects.filter(name="Visit").exists()


def test_each_refused_field_is_named(api, world):
    one_choice = {
        "key": "reason",
        "type": "single_choice",
        "label": TEXTS,
        "choices": [{"value": "price", "label": TEXTS}],
    }
    refused = create(
        api,
        title={"en": "English only"},
        status="open",
        questions=[nps(scale=7), one_choice, {"key": "bad key", "type": "stars", "label": TEXTS}],
    )

    assert refused.status_code == 400
    assert sorted(refused.json()) == [
        "questions[0].scale",
        "questions[1].choices",
        "questions[2].key",
        "questions[2].type",
        "status",
        "title",
    ]
    employees = create(api, audience="employees", anonymous=False)
    assert employees.status_code == 400
    assert list(employees.json()) == ["anonymous"]


def test_patch_versions_an_answered_survey_and_refuses_a_type_change(api, world):
    created = create(api, status="live", questions=[nps(), text("why", required=False)]).json()
    survey = Survey.objects.get(pk=created["id"])
    response = Response.objects.create(
        survey=survey, audience=survey.audience, channel="web", language="tr"
    )
    Answer.objects.create(response=response, question=survey.questions.get(key="why"), text="ok")
    url = f"/api/v1/surveys/{survey.pk}/"

    refused = api.patch(url, {"questions": [nps(), text("why", type="csat")]}, format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["questions[1].type"]

    changed = api.patch(
        url,
        {"questions": [nps(label={"en": "Tell a friend?", "tr": "Önerir misiniz?"})]},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    assert [q["key"] for q in changed.json()["questions"]] == ["nps"]
    # "why" has an answer: retired with it kept; the response keeps version 1.
    assert Question.objects.get(survey=survey, key="why").retired_in == 2
    assert Answer.objects.filter(response=response).count() == 1
    response.refresh_from_db()
    assert response.version == 1


def test_a_key_sees_and_touches_only_its_audiences(hr, api, read_only_key, world):
    outside = hr.post(
        "/api/v1/surveys/",
        {"name": "x", "audience": "customers", "title": TEXTS},
        format="json",
    )
    assert outside.status_code == 400
    assert outside.json() == {"audience": ["No audience has this slug."]}

    customer_url = f"/api/v1/surveys/{world.customer_survey.pk}/"
    assert hr.patch(customer_url, {"name": "mine"}, format="json").status_code == 404
    employee_url = f"/api/v1/surveys/{world.employee_survey.pk}/"
    moved = hr.patch(employee_url, {"audience": "customers", "title": TEXTS}, format="json")
    assert moved.status_code == 400
    assert list(moved.json()) == ["audience"]
    renamed = hr.patch(employee_url, {"name": "Pulse Q3", "title": TEXTS}, format="json")
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Pulse Q3")

    read_only = client_for(read_only_key)
    assert read_only.post("/api/v1/surveys/", {}, format="json").status_code == 403
    assert read_only.patch(employee_url, {"name": "no"}, format="json").status_code == 403
    assert Survey.objects.get(pk=world.customer_survey.pk).name == "Checkout NPS"
