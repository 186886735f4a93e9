"""Builders shared by the builder, responses, export and demo tests (this module has no tests)."""

import datetime
from typing import Any

from django.utils import timezone

from audiences.models import Channel
from surveys.models import Answer, Question, QuestionType, Response, Survey, SurveyStatus
from tests.factories import make_audience

PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

IMPROVE = {"question": "nps", "op": "lte", "value": 6}
CHOICES = [
    {"value": "price", "label": {"en": "Price", "tr": "Fiyat"}},
    {"value": "speed", "label": {"en": "Speed", "tr": "Hız"}},
]


def survey_with_questions(audience: Any = None, **extra: Any) -> Survey:
    """A live survey: page 1 NPS + reason (single choice), page 2 "improve" for detractors."""
    audience = audience or make_audience()
    extra.setdefault("name", "Visit")
    extra.setdefault("status", SurveyStatus.LIVE)
    extra.setdefault("title", {"en": "Your visit", "tr": "Ziyaretiniz"})
    survey = Survey.objects.create(audience=audience, **extra)
    Question.objects.bulk_create(
        [
            Question(
                survey=survey,
                order=1,
                page=1,
                key="nps",
                type=QuestionType.NPS,
                label={"en": "Recommend us?", "tr": "Bizi tavsiye eder misiniz?"},
            ),
            Question(
                survey=survey,
                order=2,
                page=1,
                key="reason",
                type=QuestionType.SINGLE_CHOICE,
                required=False,
                choices=CHOICES,
                label={"en": "Main reason", "tr": "Ana neden"},
            ),
            Question(
                survey=survey,
                order=3,
                page=2,
                key="improve",
                type=QuestionType.TEXT,
                required=False,
                multiline=True,
                show_if=IMPROVE,
                label={"en": "What should we improve?", "tr": "Neyi iyileştirmeliyiz?"},
            ),
        ]
    )
    return survey


def add_response(
    survey: Survey,
    answers: dict[str, Any],
    *,
    person: Any = None,
    segment: str = "",
    touchpoint: Any = None,
    completed_at: datetime.datetime | None = None,
    language: str = "tr",
) -> Response:
    """A completed response with typed answers (stored as the hosted pages store them)."""
    completed_at = completed_at or timezone.now()
    response = Response.objects.create(
        survey=survey,
        audience=survey.audience,
        touchpoint=touchpoint,
        person=None if survey.anonymous else person,
        channel=Channel.EMAIL,
        language=language,
        segment=segment,
        completed_on=timezone.localdate(completed_at),
        completed_at=None if survey.anonymous else completed_at,
    )
    questions = {q.key: q for q in survey.questions.all()}
    rows = []
    for key, value in answers.items():
        question = questions[key]
        row = Answer(response=response, question=question, text="")
        if question.type == QuestionType.MULTIPLE_CHOICE:
            row.choices = value
        elif question.type == QuestionType.SINGLE_CHOICE:
            row.choices, row.text = [value], value
        elif question.type == QuestionType.TEXT:
            row.text = value
        else:
            row.number = value
        rows.append(row)
    Answer.objects.bulk_create(rows)
    return response
