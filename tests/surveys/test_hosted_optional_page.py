"""A page of optional questions left empty is done with: the respondent moves on to the next
page (they were sent back to it on every submit, so a promoter who skipped "what did you like?"
could never finish), while a page with a required question still cannot be skipped."""

import re

import pytest

from surveys.models import QuestionType
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    LIKED,
    add_question,
    invite,
    make_survey,
    plain_static_files,
    url,
)

pytestmark = pytest.mark.django_db


def _shown(client, location: str) -> str:  # noqa: ANN001
    page = client.get(location).content.decode()
    return re.search(r'name="page" value="(\d+)"', page).group(1)


@pytest.fixture
def survey():
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    add_question(survey, "liked", QuestionType.TEXT, page=2, order=2, required=False, show_if=LIKED)
    add_question(survey, "csat", QuestionType.CSAT, page=3, order=3)
    return survey


def test_an_optional_page_left_empty_leads_to_the_next_page_and_the_end(client, survey):
    invitation, token = invite(survey, language="en")
    first = client.post(url(token), {"page": "1", "q-nps": "9", "lang": "en"})
    assert _shown(client, first.headers["Location"]) == "2"
    second = client.post(url(token), {"page": "2", "q-liked": "", "lang": "en"})
    assert second.headers["Location"].endswith("?page=3&lang=en")
    assert _shown(client, second.headers["Location"]) == "3"
    done = client.post(url(token), {"page": "3", "q-csat": "4", "lang": "en"})
    assert "done=1" in done.headers["Location"]
    invitation.refresh_from_db()
    assert invitation.responded_at is not None


def test_a_page_past_an_unanswered_required_question_is_not_shown(client, survey):
    _invitation, token = invite(survey, language="en")
    assert _shown(client, url(token) + "?page=3&lang=en") == "1"  # nps is required
    client.post(url(token), {"page": "1", "q-nps": "9", "lang": "en"})
    assert _shown(client, url(token) + "?page=3&lang=en") == "3"  # "liked" is optional
    assert _shown(client, url(token) + "?lang=en") == "2"  # a returning respondent resumes
