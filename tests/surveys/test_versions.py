"""Versions of a live survey: responses keep the version they answered, a question with answers
keeps its type and scale and is retired rather than deleted, respondents see the live version,
and exports and scores follow each key across versions."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.db.models import RestrictedError

from metrics import selectors as metrics
from metrics.services import rollup_day
from surveys import services
from surveys.exports import export_csv_lines
from surveys.models import Answer, Question, Response, Survey, SurveyStatus, SurveyVersion
from surveys.selectors import version_summary
from surveys.services import Respondent
from surveys.services.authoring import save_questions, save_survey
from tests.factories import make_audience
from tests.surveys.test_hosted_support import (
    invite,
    plain_static_files,  # noqa: F401 - autouse fixture
    url,
)

pytestmark = pytest.mark.django_db

CHOICES = [
    {"value": "price", "label": {"en": "Price", "tr": "Fiyat"}},
    {"value": "speed", "label": {"en": "Speed", "tr": "Hız"}},
]


def question(key: str, qtype: str = "nps", **extra):  # noqa: ANN201
    return {"key": key, "type": qtype, "label": {"en": f"{key} en", "tr": f"{key} tr"}, **extra}


NPS = question("nps", label={"en": "Would you recommend us?", "tr": "Bizi tavsiye eder misiniz?"})
REASON = question("reason", "single_choice", required=False, choices=CHOICES)
EASE = question("ease", "ces", scale=7, required=False)


def live_survey(*questions):  # noqa: ANN002, ANN201
    make_audience("customers")
    return save_survey(
        {
            "name": "Visit",
            "audience": "customers",
            "status": SurveyStatus.LIVE,
            "title": {"en": "Your visit", "tr": "Ziyaretiniz"},
            "questions": list(questions or (NPS, REASON, EASE)),
        }
    )


def answer(survey: Survey, values: dict, external_id: str) -> Response:
    """Complete a named invitation's response through the one completion (hosted and API)."""
    invitation, token = invite(survey, external_id=external_id)
    survey = Survey.objects.get(pk=survey.pk)  # as a request reads it: its live version
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    questions = services.survey_questions(survey=survey)
    response = services.response_answer(
        respondent=respondent, questions=questions, values=values, language="tr"
    )
    return Response.objects.get(pk=response.pk)


def test_edits_before_any_response_change_the_live_version_in_place():
    survey = live_survey()

    change = save_questions(survey, [NPS, {**REASON, "label": {"en": "Why?", "tr": "Neden?"}}])

    assert (change.version, change.created) == (1, False)
    assert list(SurveyVersion.objects.filter(survey=survey).values_list("number", flat=True)) == [1]
    # "ease" had no answers: it is gone, not retired.
    assert sorted(Question.objects.filter(survey=survey).values_list("key", flat=True)) == [
        "nps",
        "reason",
    ]


def test_a_response_keeps_the_version_it_answered():
    survey = live_survey()
    first = answer(survey, {"nps": 9, "reason": "price"}, "p-1")

    change = save_questions(
        survey, [{**NPS, "label": {"en": "Recommend?", "tr": "Önerir misiniz?"}}, REASON, EASE]
    )
    second = answer(survey, {"nps": 3}, "p-2")

    assert (change.version, change.created) == (2, True)
    assert change.changes == [{"key": "nps", "kind": "changed", "fields": ["label"]}]
    first.refresh_from_db()
    assert (first.version, second.version) == (1, 2)
    assert Survey.objects.get(pk=survey.pk).version == 2
    v1, v2 = SurveyVersion.objects.filter(survey=survey).order_by("number")
    assert v1.questions[0]["label"]["en"] == "Would you recommend us?"
    assert v2.questions[0]["label"]["en"] == "Recommend?"
    # Still one row per key: the answers of both versions hang on the same question.
    assert Answer.objects.filter(question__key="nps").values("question_id").distinct().count() == 1


def test_a_second_edit_before_new_responses_stays_in_the_new_version():
    survey = live_survey()
    answer(survey, {"nps": 9}, "p-1")
    save_questions(survey, [NPS, REASON])  # retires nothing ("ease" had no answers): deleted

    change = save_questions(survey, [NPS, REASON, question("liked", "text", required=False)])

    assert (change.version, change.created) == (2, False)
    assert change.changes == [
        {"key": "liked", "kind": "added", "fields": []},
        {"key": "ease", "kind": "removed", "fields": []},
    ]


def test_type_and_scale_of_an_answered_question_cannot_change():
    survey = live_survey()
    answer(survey, {"nps": 9, "ease": 6}, "p-1")

    with pytest.raises(ValidationError) as refused:
        save_questions(survey, [{**NPS, "type": "csat"}, REASON, {**EASE, "scale": 5}])

    assert set(refused.value.message_dict) == {"questions[0].type", "questions[2].scale"}
    assert "“nps” already has answers" in refused.value.message_dict["questions[0].type"][0]
    assert Survey.objects.get(pk=survey.pk).version == 1
    assert Question.objects.get(survey=survey, key="ease").scale_max == 7
    # The same scale written as GET returns it is no change.
    same = {**EASE, "scale": {"min": 1, "max": 7}}
    assert save_questions(survey, [NPS, REASON, same]).changes == []


def test_a_question_with_answers_is_retired_not_deleted_and_can_come_back():
    survey = live_survey()
    response = answer(survey, {"nps": 4, "reason": "speed"}, "p-1")

    change = save_questions(survey, [NPS, EASE])

    reason = Question.objects.get(survey=survey, key="reason")
    assert (change.version, reason.retired_in) == (2, 2)
    assert {"key": "reason", "kind": "retired", "fields": []} in change.changes
    assert Answer.objects.filter(response=response, question=reason).exists()
    assert [q.key for q in services.survey_questions(survey=survey)] == ["nps", "ease"]

    answer(survey, {"nps": 8}, "p-2")
    back = save_questions(survey, [NPS, REASON, EASE])

    assert back.version == 3
    assert {"key": "reason", "kind": "restored", "fields": []} in back.changes
    assert Question.objects.get(pk=reason.pk).retired_in is None


def test_the_hosted_page_shows_only_the_live_versions_questions(client):
    # The changed question comes first, so it is on the first screen however pages are laid out.
    survey = live_survey(question("why", "text", label={"en": "Old why", "tr": "Eski neden"}), NPS)
    answer(survey, {"nps": 2, "why": "slow"}, "p-1")
    save_questions(survey, [question("what", "text", label={"en": "New", "tr": "Yeni ne"}), NPS])
    _invitation, token = invite(survey, external_id="p-2")

    page = client.get(url(token)).content.decode()

    assert "Yeni ne" in page
    assert "Eski neden" not in page


def test_exports_and_scores_follow_each_key_across_versions():
    survey = live_survey()
    answer(survey, {"nps": 10, "reason": "price"}, "p-1")
    answer(survey, {"nps": 2, "reason": "speed"}, "p-2")
    save_questions(survey, [{**NPS, "label": {"en": "Recommend?", "tr": "Önerir misiniz?"}}, EASE])
    answer(survey, {"nps": 9, "ease": 5}, "p-3")

    text = "".join(export_csv_lines(survey=survey))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = rows[0]
    assert header[-3:] == ["nps", "reason", "ease"]  # the retired "reason" keeps its column
    assert [(r[header.index("version")], r[-3], r[-2], r[-1]) for r in rows[1:]] == [
        ("1", "10", "price", ""),
        ("1", "2", "speed", ""),
        ("2", "9", "", "5"),
    ]

    def nps_row():  # noqa: ANN202
        return metrics.scores(audience=survey.audience, metric="nps", by=None).rows[0]

    fresh = nps_row()
    assert (fresh["n"], fresh["score"]) == (3, pytest.approx(100 * (2 - 1) / 3))
    rollup_day(day=Response.objects.first().completed_on)
    assert nps_row()["n"] == 3  # rolled up and fresh answers are each counted once


def test_version_summary_says_what_is_live_and_what_changed():
    survey = live_survey()
    answer(survey, {"nps": 9, "reason": "price"}, "p-1")
    save_questions(survey, [{**NPS, "required": False}, {**EASE, "order": 3}], actor="ayse")

    summary = version_summary(survey)

    assert (summary.live, summary.answered, summary.retired) == (2, False, ["reason"])
    assert [v.number for v in summary.versions] == [2, 1]
    assert summary.versions[0].created_by == "ayse"
    assert [(c["key"], c["what"], c["fields"]) for c in summary.versions[0].changes] == [
        ("nps", "changed", "required"),
        ("reason", "retired, answers kept", ""),
    ]


def test_edits_of_a_live_anonymous_survey_never_tell_whether_anyone_answered():
    make_audience("staff", kind="employee")
    survey = save_survey(
        {
            "name": "Pulse",
            "audience": "staff",
            "status": SurveyStatus.LIVE,
            "title": {"en": "Pulse", "tr": "Nabız"},
            "questions": [NPS, REASON, EASE],
        }
    )
    assert survey.anonymous

    # Nobody has answered, yet the edit behaves as if someone might have: a new version, the
    # question left out retired (not deleted), its type kept.
    change = save_questions(survey, [NPS, EASE])
    with pytest.raises(ValidationError) as refused:
        save_questions(survey, [{**NPS, "type": "csat"}, EASE])

    assert (change.version, change.created) == (2, True)
    assert Question.objects.get(survey=survey, key="reason").retired_in == 2
    assert "may have answers" in refused.value.message_dict["questions[0].type"][0]
    summary = version_summary(survey)
    assert (summary.answered, summary.hidden) == (True, True)


def test_answers_go_with_their_response_never_with_their_question():
    survey = live_survey()
    answer(survey, {"nps": 9}, "p-1")

    with pytest.raises(RestrictedError):
        Question.objects.get(survey=survey, key="nps").delete()

    survey.delete()  # a survey goes with its responses, and so their answers
    assert not Answer.objects.exists()
