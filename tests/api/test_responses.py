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
from xmplatform.api import webhooks

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


def _anonymous_responses(world, segments):
    """Completed responses of the anonymous Pulse survey: (segment, eNPS, comment) each."""
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
    for segment, score, text in segments:
        response = Response.objects.create(
            survey=world.employee_survey,
            audience=world.employees,
            channel="email",
            language="en",
            segment=segment,
            completed_on=dt.date(2026, 11, 30),
        )
        Answer.objects.create(response=response, question=enps, number=score)
        Answer.objects.create(response=response, question=comment, text=text)
        made.append(response)
    return made


def test_anonymous_responses_of_small_segments_are_listed_without_segment_or_free_text(hr, world):
    # legal (1) is under the threshold of 5, and ops (5), the next smallest, would give it
    # away by subtraction: both are listed like an export lists them.
    _anonymous_responses(
        world,
        [("sales", 8, f"sales note {i}") for i in range(6)]
        + [("ops", 7, f"ops note {i}") for i in range(5)]
        + [("legal", 2, "my manager in legal")],
    )
    url = f"/api/v1/surveys/{world.employee_survey.pk}/responses/?page_size=100"
    rows = hr.get(url).json()["results"]
    assert [(r["segment"], r["answers"]) for r in rows] == (
        [("sales", {"enps": 8, "comment": f"sales note {i}"}) for i in range(6)]
        + [("", {"enps": 7}) for _ in range(5)]
        + [("", {"enps": 2})]
    )
    assert all(r["person"] is None and r["completed_at"] is None for r in rows)


def test_webhook_payload_of_a_small_segments_anonymous_response_hides_it_too(world):
    *_others, lone = _anonymous_responses(
        world, [("sales", 8, "fine") for _ in range(6)] + [("legal", 2, "my manager in legal")]
    )
    data = webhooks.response_completed_payload(lone.pk).payload["data"]
    assert (data["segment"], data["answers"], data["person"]) == ("", {"enps": 2}, None)


def test_anonymous_survey_with_fewer_responses_than_the_threshold_lists_none(hr, world):
    _anonymous_responses(world, [("sales", 8, "fine"), ("sales", 9, "great")])
    url = f"/api/v1/surveys/{world.employee_survey.pk}/responses/"
    assert hr.get(url).json() == {"next": None, "previous": None, "results": []}


def test_webhook_payload_while_too_few_have_answered_carries_no_answers(world):
    (only,) = _anonymous_responses(world, [("sales", 3, "my manager")])
    data = webhooks.response_completed_payload(only.pk).payload["data"]
    assert (data["segment"], data["answers"], data["person"]) == ("", {}, None)
