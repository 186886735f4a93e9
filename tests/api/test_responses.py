"""Surveys as the API shows them, and responses recorded on other channels (one per invitation)."""

import datetime as dt

import pytest

from surveys.models import (
    Answer,
    Invitation,
    InvitationState,
    Question,
    QuestionType,
    Response,
    SurveyStatus,
)
from surveys.services import invitation_create

pytestmark = pytest.mark.django_db


def test_survey_list_and_detail_show_questions_with_keys_types_scales_logic_translations(
    api, world
):
    assert [s["name"] for s in api.get("/api/v1/surveys/").json()] == ["Pulse", "Checkout NPS"]
    body = api.get(f"/api/v1/surveys/{world.customer_survey.pk}/").json()
    assert (body["audience"], body["touchpoint"], body["status"]) == (
        "customers",
        "checkout",
        "live",
    )
    assert body["title"] == {"en": "How was checkout?", "tr": "Ödeme nasıldı?"}
    nps, improve, topics = body["questions"]
    assert nps == {
        "key": "nps",
        "type": "nps",
        "required": True,
        "page": 1,
        "order": 1,
        "label": {"en": "How likely are you to recommend us?", "tr": "Bizi tavsiye eder misiniz?"},
        "help": {},
        "choices": [],
        "scale": {"min": 0, "max": 10},
        "multiline": False,
        "show_if": None,
    }
    assert improve["show_if"] == {"question": "nps", "op": "lte", "value": 6}
    assert topics["choices"] == [
        {"value": "price", "label": {"en": "Price"}},
        {"value": "speed", "label": {"en": "Speed"}},
    ]


def test_response_is_recorded_with_the_hosted_pages_validation(api, world):
    invitation, token = invitation_create(
        survey=world.customer_survey, person=world.ayse, channel="app", state=InvitationState.SENT
    )
    response = api.post(
        "/api/v1/responses/",
        {"token": token, "answers": {"nps": 4, "improve": "Faster delivery", "topics": ["speed"]}},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    stored = Response.objects.get()
    assert body == {
        "id": stored.pk,
        "survey": world.customer_survey.pk,
        "audience": "customers",
        "touchpoint": "checkout",
        "person": "c-1",
        "invitation": invitation.pk,
        "channel": "app",
        "language": "en",
        "segment": "premium",
        "completed_at": body["completed_at"],
        "completed_on": stored.completed_on.isoformat(),
        "answers": {"nps": 4, "improve": "Faster delivery", "topics": ["speed"]},
        "data": {},
    }
    assert Invitation.objects.get().state == InvitationState.RESPONDED


def test_second_response_for_one_invitation_is_409_and_one_is_kept(api, world):
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    first = api.post("/api/v1/responses/", {"token": token, "answers": {"nps": 9}}, format="json")
    second = api.post("/api/v1/responses/", {"token": token, "answers": {"nps": 1}}, format="json")
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json() == {
        "detail": "This invitation has already been answered; one response is kept.",
        "code": "already_responded",
    }
    assert list(Answer.objects.values_list("number", flat=True)) == [9]


def test_invalid_answers_are_400_with_a_message_per_question(api, world):
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    response = api.post(
        "/api/v1/responses/",
        {"token": token, "answers": {"nps": 11, "topics": ["colour"], "mood": "ok"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "answers": {
            "nps": "Choose a whole number from 0 to 10.",
            "topics": "Choose only among the options offered.",
            "mood": "Unknown question key; the survey's keys are: nps, improve, topics.",
        }
    }
    missing = api.post("/api/v1/responses/", {"token": token, "answers": {}}, format="json")
    assert missing.json() == {"answers": {"nps": "Please answer this question."}}
    wrong_type = api.post(
        "/api/v1/responses/", {"token": token, "answers": {"nps": True}}, format="json"
    )
    assert wrong_type.json() == {
        "answers": {"nps": "Send a number, a text or a list of choice values."}
    }
    assert Response.objects.count() == 0


def test_answers_to_questions_hidden_by_logic_are_dropped(api, world):
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    response = api.post(
        "/api/v1/responses/",
        {"token": token, "answers": {"nps": 10, "improve": "x"}},
        format="json",
    )
    assert response.json()["answers"] == {"nps": 10}


def test_unknown_token_and_bad_language_are_400(api, world):
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    assert api.post(
        "/api/v1/responses/", {"token": "x" * 32, "answers": {"nps": 1}}, format="json"
    ).json() == {"token": ["Unknown token."]}
    assert api.post(
        "/api/v1/responses/",
        {"token": token, "answers": {"nps": 1}, "language": "de"},
        format="json",
    ).json() == {"language": ["Use one of: tr, en."]}


def test_closed_survey_is_410(api, world):
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    world.customer_survey.status = SurveyStatus.CLOSED
    world.customer_survey.save()
    response = api.post(
        "/api/v1/responses/", {"token": token, "answers": {"nps": 1}}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (410, "closed")


def test_anonymous_survey_response_keeps_no_person(hr, world):
    _inv, token = invitation_create(survey=world.employee_survey, person=world.emre, channel="app")
    response = hr.post(
        "/api/v1/responses/", {"token": token, "answers": {"enps": 8}}, format="json"
    )
    assert response.status_code == 201
    assert (response.json()["person"], response.json()["completed_at"]) == (None, None)
    assert Response.objects.get().person_id is None


def test_survey_responses_page_with_a_cursor_since_a_date(api, world, django_assert_num_queries):
    for score in (1, 2, 3):
        person = world.ayse if score == 1 else None
        _inv, token = invitation_create(survey=world.customer_survey, person=person, channel="app")
        api.post("/api/v1/responses/", {"token": token, "answers": {"nps": score}}, format="json")
    url = f"/api/v1/surveys/{world.customer_survey.pk}/responses/?page_size=2"
    # key, its audiences, the survey, one page of responses, their answers
    with django_assert_num_queries(5):
        first = api.get(url).json()
    assert [r["answers"]["nps"] for r in first["results"]] == [1, 2]
    second = api.get(first["next"]).json()
    assert [r["answers"]["nps"] for r in second["results"]] == [3]
    later = api.get(url + "&since=2999-01-01").json()
    assert later["results"] == []
    assert api.get(url + "&since=2999-01-01T00:00:00%2B00:00").json()["results"] == []
    assert len(api.get(url + "&since=2000-01-01T00:00:00Z").json()["results"]) == 2
    # "+" left unencoded in a query string reads as a space: the offset is still understood.
    assert len(api.get(url + "&since=2000-01-01T03:00:00+03:00").json()["results"]) == 2
    assert api.get(url + "&since=2999-01-01T03:00:00+03:00").json()["results"] == []
    assert api.get(url + "&since=yesterday").json() == {
        "since": "Use a date (YYYY-MM-DD) or an ISO 8601 moment with an offset (got yesterday)."
    }
    assert api.get(url + "&since=2026-02-30").json() == {
        "since": "Use a date as YYYY-MM-DD (got 2026-02-30)."
    }


def _anonymous_responses(world, count: int) -> list[Response]:
    """Released responses of the anonymous Pulse stored on their period's first day."""
    comment = Question.objects.create(
        survey=world.employee_survey,
        key="comment",
        type=QuestionType.TEXT,
        order=2,
        required=False,
        label={"en": "Anything else?"},
    )
    enps = world.employee_survey.questions.get(key="enps")
    made = []
    for i in range(count):
        response = Response.objects.create(
            survey=world.employee_survey,
            audience=world.employees,
            channel="email",
            language="en",
            segment="sales",
            completed_on=dt.date(2026, 11, 1),
            released=True,
        )
        Answer.objects.create(response=response, question=enps, number=8)
        Answer.objects.create(response=response, question=comment, text=f"sales note {i}")
        made.append(response)
    return made


REFUSED = (
    "Survey {id} is anonymous: its responses are never listed one by one. Read its results per "
    "reporting period from /api/v1/scores/?audience=employees&metric=…&by=survey."
)


@pytest.mark.parametrize("query", ["", "?page_size=100", "?since=2026-11-01", "?since=nonsense"])
def test_anonymous_survey_responses_are_refused_to_the_employee_key_with_a_pointer_to_scores(
    hr, world, query
):
    _anonymous_responses(world, 12)

    response = hr.get(f"/api/v1/surveys/{world.employee_survey.pk}/responses/{query}")

    assert response.status_code == 403
    assert response.json() == {"detail": REFUSED.format(id=world.employee_survey.pk)}
    assert "sales" not in response.content.decode()


def test_anonymous_survey_responses_are_refused_to_a_key_for_all_audiences_too(api, world):
    _anonymous_responses(world, 12)

    response = api.get(f"/api/v1/surveys/{world.employee_survey.pk}/responses/")

    assert response.status_code == 403


def test_named_survey_responses_are_still_listed_to_a_key_for_their_audience(api, world):
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    api.post("/api/v1/responses/", {"token": token, "answers": {"nps": 4}}, format="json")

    rows = api.get(f"/api/v1/surveys/{world.customer_survey.pk}/responses/").json()["results"]

    assert [(r["person"], r["answers"]) for r in rows] == [("c-1", {"nps": 4})]


def test_posting_an_anonymous_response_returns_nothing_that_describes_it(hr, world):
    _inv, token = invitation_create(survey=world.employee_survey, person=world.emre, channel="app")

    response = hr.post(
        "/api/v1/responses/", {"token": token, "answers": {"enps": 2}}, format="json"
    )

    body = response.json()
    stored = Response.objects.get()
    assert response.status_code == 201
    assert body == {
        "id": stored.pk,
        "survey": world.employee_survey.pk,
        "audience": "employees",
        "touchpoint": None,
        "person": None,
        "invitation": None,
        "channel": "app",
        "language": "en",
        "segment": "",
        "completed_at": None,
        "completed_on": stored.completed_on.isoformat(),
        "answers": {},
        "data": {},
    }


def test_the_schema_documents_the_refusal_of_anonymous_surveys(api, world):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/surveys/{survey_id}/responses/"]["get"]
    assert "anonymous" in operation["responses"]["403"]["description"]
    assert "/api/v1/scores/" in operation["description"]
