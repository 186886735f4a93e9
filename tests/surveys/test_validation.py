"""Answer validation per question type, with the exact message the respondent sees."""

import pytest
from django.utils import translation

from surveys.models import QuestionType
from surveys.validation import TEXT_MAX_CHARS, Invalid, clean_answer, clean_page
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    REASONS,
    add_question,
    invite,
    make_survey,
    plain_static_files,
    url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():  # noqa: ANN201
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    add_question(survey, "csat", QuestionType.CSAT, page=1, order=2)
    add_question(survey, "ces", QuestionType.CES, page=1, order=3, scale_max=7)
    add_question(survey, "ces5", QuestionType.CES, page=1, order=4, scale_max=5)
    add_question(survey, "stars", QuestionType.RATING, page=1, order=5, scale_max=4)
    add_question(survey, "reason", QuestionType.SINGLE_CHOICE, page=1, order=6, choices=REASONS)
    add_question(survey, "tags", QuestionType.MULTIPLE_CHOICE, page=1, order=7, choices=REASONS)
    add_question(survey, "comment", QuestionType.TEXT, page=1, order=8, required=False)
    return survey


def _q(survey, key):  # noqa: ANN001, ANN202
    return survey.questions.get(key=key)


def _error(question, *raw: str) -> str:  # noqa: ANN001
    with translation.override("en"):
        with pytest.raises(Invalid) as caught:
            clean_answer(question, list(raw))
        return str(caught.value.message)


def test_nps_11_is_refused(survey):
    assert _error(_q(survey, "nps"), "11") == "Choose a whole number from 0 to 10."


@pytest.mark.parametrize("raw", ["-1", "7.5", "seven", "1e1", "1_0", "+3", "٣", "9" * 40])
def test_nps_outside_the_scale_or_not_an_integer_is_refused(survey, raw):
    assert _error(_q(survey, "nps"), raw) == "Choose a whole number from 0 to 10."


@pytest.mark.parametrize("raw", ["0", "10"])
def test_nps_ends_are_accepted(survey, raw):
    assert clean_answer(_q(survey, "nps"), [raw]) == int(raw)


@pytest.mark.parametrize("raw", ["0", "6"])
def test_csat_0_and_6_are_refused(survey, raw):
    assert _error(_q(survey, "csat"), raw) == (
        "Choose a rating from 1 (very dissatisfied) to 5 (very satisfied)."
    )


def test_ces_outside_its_seven_point_scale_is_refused(survey):
    assert _error(_q(survey, "ces"), "8") == "Choose a value from 1 to 7."
    assert clean_answer(_q(survey, "ces"), ["7"]) == 7


def test_ces_outside_its_five_point_scale_is_refused(survey):
    assert _error(_q(survey, "ces5"), "6") == "Choose a value from 1 to 5."


def test_rating_outside_its_stars_is_refused(survey):
    assert _error(_q(survey, "stars"), "5") == "Choose from 1 to 4 stars."
    assert _error(_q(survey, "stars"), "0") == "Choose from 1 to 4 stars."
    assert clean_answer(_q(survey, "stars"), ["4"]) == 4


def test_two_values_for_a_scale_are_refused(survey):
    assert _error(_q(survey, "nps"), "3", "4") == "Choose only one answer."


def test_choice_not_offered_is_refused(survey):
    assert _error(_q(survey, "reason"), "bribe") == "Choose one of the options offered."
    assert clean_answer(_q(survey, "reason"), ["staff"]) == "staff"


def test_multiple_choice_with_an_unknown_value_is_refused(survey):
    assert _error(_q(survey, "tags"), "price", "bribe") == (
        "Choose only among the options offered."
    )


def test_multiple_choice_keeps_the_survey_order_without_duplicates(survey):
    assert clean_answer(_q(survey, "tags"), ["staff", "price", "staff"]) == ["price", "staff"]


def test_100_kb_text_gets_a_clear_error(survey):
    message = _error(_q(survey, "comment"), "a" * 100_000)

    assert message == (
        "Your answer is 100,000 characters long; please shorten it to at most 5,000 characters."
    )


def test_text_at_the_limit_is_accepted_and_nul_characters_are_dropped(survey):
    assert clean_answer(_q(survey, "comment"), ["b" * TEXT_MAX_CHARS]) == "b" * TEXT_MAX_CHARS
    assert clean_answer(_q(survey, "comment"), ["ok\x00 "]) == "ok"


def test_missing_required_answers_are_reported_per_question(survey):
    questions = list(survey.questions.all())
    with translation.override("en"):
        cleaned, errors, _raw = clean_page(
            questions, {"q-nps": ["9"]}, visible={q.key for q in questions}
        )
        messages = {key: str(message) for key, message in errors.items()}

    assert cleaned["nps"] == 9
    assert messages == {
        "csat": "Please answer this question.",
        "ces": "Please answer this question.",
        "ces5": "Please answer this question.",
        "stars": "Please answer this question.",
        "reason": "Please answer this question.",
        "tags": "Please answer this question.",
    }


def test_hidden_required_question_is_not_read(survey):
    questions = list(survey.questions.filter(key__in=["nps", "csat"]))

    cleaned, errors, _raw = clean_page(questions, {"q-csat": ["9"]}, visible={"nps"})

    assert "csat" not in cleaned
    assert "csat" not in errors


def test_errors_show_in_turkish_next_to_the_question(client, survey):
    _, token = invite(survey)

    page = client.post(
        url(token),
        {
            "page": "1",
            "q-nps": "11",
            "q-csat": "0",
            "q-ces": "4",
            "q-ces5": "4",
            "q-stars": "2",
            "q-reason": "bribe",
            "q-tags": ["price", "nope"],
            "q-comment": "x" * 100_000,
        },
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "Lütfen 0 ile 10 arasında bir tam sayı seçin." in html
    assert "Lütfen 1 (hiç memnun değilim) ile 5 (çok memnunum) arasında bir değer seçin." in html
    assert "Lütfen sunulan seçeneklerden birini seçin." in html
    assert "Lütfen yalnızca sunulan seçenekler arasından seçin." in html
    assert (
        "Yanıtınız 100.000 karakter uzunluğunda; lütfen en fazla 5.000 karaktere kısaltın." in html
    )
    assert 'id="q-nps-error"' in html
    assert 'value="4" checked' in html
