"""One question at a time, server side: one question per page without JavaScript, display
logic, resume and the way back; the NPS, CSAT and CES templates start in this mode."""

import pytest

from surveys.catalog import survey_create_from_template
from surveys.models import Answer, Presentation, Response
from tests.factories import make_audience
from tests.hosted.support import one_question_survey
from tests.surveys.test_hosted_support import invite, make_survey, public_link, url


def legends(response) -> list[str]:  # noqa: ANN001
    parts = response.content.decode().split('class="step-heading" tabindex="-1">')[1:]
    return [part.split("<", 1)[0].strip() for part in parts]


@pytest.mark.django_db
def test_each_question_is_a_page_of_its_own_and_display_logic_still_applies(client):
    survey = one_question_survey()
    _invitation, token = invite(survey, language="en")

    first = client.get(url(token))
    assert legends(first) == ["How likely are you to recommend us to a friend?"]
    # improve / liked are undecided until the score is known: counted, so progress never grows.
    assert "Question 1 of 5" in first.content.decode()
    assert 'class="survey js-once one-question"' in first.content.decode()

    moved = client.post(url(token), {"page": 1, "lang": "en", "q-nps": "10"})
    assert moved.status_code == 302
    assert moved["Location"] == f"{url(token)}?page=3&lang=en"  # "improve" (page 2) is hidden

    second = client.get(moved["Location"])
    assert legends(second) == ["What did you like?"]
    body = second.content.decode()
    assert "Question 2 of 4" in body
    assert f'href="{url(token)}?page=1&amp;lang=en"' in body  # the way back

    client.post(url(token), {"page": 3, "lang": "en", "q-liked": "Kind staff"})
    third = client.get(f"{url(token)}?page=4&lang=en")
    assert legends(third) == ["How satisfied are you overall?"]
    refused = client.post(url(token), {"page": 4, "lang": "en"})
    assert refused.status_code == 200
    assert "Please answer this question." in refused.content.decode()
    assert client.post(url(token), {"page": 4, "lang": "en", "q-csat": "4"})["Location"].endswith(
        "page=5&lang=en"
    )
    done = client.post(url(token), {"page": 5, "lang": "en", "q-reason": "speed"})
    assert done["Location"] == f"{url(token)}?done=1&lang=en"

    response = Response.objects.get()
    assert response.completed_on is not None
    answers = Answer.objects.select_related("question")
    assert {a.question.key: (a.number, a.text) for a in answers} == {
        "nps": (10, ""),
        "liked": (None, "Kind staff"),
        "csat": (4, ""),
        "reason": (None, "speed"),
    }


@pytest.mark.django_db
def test_a_detractor_is_asked_what_to_improve(client):
    survey = one_question_survey()
    _invitation, token = invite(survey, language="tr")
    moved = client.post(url(token), {"page": 1, "lang": "tr", "q-nps": "3"})
    assert moved["Location"] == f"{url(token)}?page=2&lang=tr"
    assert legends(client.get(moved["Location"])) == ["Neyi iyileştirmeliyiz?"]


@pytest.mark.django_db
def test_a_returning_respondent_resumes_at_the_first_unanswered_question(client):
    survey = one_question_survey()
    link = public_link(survey)
    client.post(f"/p/{link.slug}/", {"page": 1, "lang": "en", "q-nps": "9"})
    client.post(f"/p/{link.slug}/", {"page": 3, "lang": "en", "q-liked": "Fast"})

    again = client.get(f"/p/{link.slug}/?lang=en")
    assert legends(again) == ["How satisfied are you overall?"]
    # A question further on than the first unanswered one is not reachable by its number.
    assert legends(client.get(f"/p/{link.slug}/?lang=en&page=5")) == [
        "How satisfied are you overall?"
    ]
    # An answered one is, with its answer kept.
    back = client.get(f"/p/{link.slug}/?lang=en&page=1")
    assert legends(back) == ["How likely are you to recommend us to a friend?"]
    assert 'value="9" checked' in back.content.decode()


@pytest.mark.django_db
def test_pages_stay_as_they_were_for_surveys_presented_in_pages(client):
    survey = one_question_survey(presentation=Presentation.PAGES)
    _invitation, token = invite(survey, language="en")
    body = client.get(url(token)).content.decode()
    assert "Page 1 of 3" in body
    assert "one-question" not in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("template", "presentation"),
    [
        ("relationship_nps", Presentation.ONE_QUESTION),
        ("transactional_csat", Presentation.ONE_QUESTION),
        ("support_ces", Presentation.ONE_QUESTION),
        ("employee_pulse", Presentation.PAGES),
    ],
)
def test_score_templates_start_one_question_at_a_time(template, presentation):
    survey = survey_create_from_template(template_key=template, audience=make_audience())
    assert survey.presentation == presentation


@pytest.mark.django_db
def test_existing_and_new_plain_surveys_keep_pages():
    assert make_survey().presentation == Presentation.PAGES
