"""One demo respondent's answers: scores about a mood, choices and comments, as the logic shows."""

import random
from collections.abc import Sequence
from typing import Any

from surveys.demo.specs import DemoSurvey
from surveys.demo.story_texts import checkout_comment
from surveys.demo.texts import comment
from surveys.logic import visible_keys
from surveys.models import Answer, Question, QuestionType, Response


def biases(values: Sequence[Any], spread: float) -> dict[Any, float]:
    """A fixed, visible offset per value: the first ones better, the last ones worse."""
    if len(values) < 2:
        return {v: 0.0 for v in values}
    step = 2 * spread / (len(values) - 1)
    return {v: spread - i * step for i, v in enumerate(values)}


def clamp(value: float) -> float:
    return min(1.0, max(0.0, value))


def respondent_answers(
    questions: Sequence[Question],
    mood: float,
    language: str,
    rng: random.Random,
    spec: DemoSurvey | None = None,
) -> dict[str, Any]:
    """Typed answers of one respondent whose sentiment is about `mood`, honouring the logic;
    `spec` gives the survey's comments, how many write one and each question's offset."""
    texts = spec.texts if spec else "customer"
    text_share = spec.text_share if spec else 0.6
    offsets = dict(spec.question_moods) if spec else {}
    values: dict[str, Any] = {}
    for q in questions:
        # Each scored answer moves a little around the respondent's mood.
        feel = clamp(mood + offsets.get(q.key, 0.0) + rng.gauss(0, 0.08))
        if q.type == QuestionType.NPS:
            values[q.key] = round(feel * 10)
        elif q.type == QuestionType.CSAT:
            values[q.key] = 1 + round(feel * 4)
        elif q.type in (QuestionType.CES, QuestionType.RATING):
            top = q.scale_max or (7 if q.type == QuestionType.CES else 5)
            values[q.key] = 1 + round(feel * (top - 1))
        elif q.type == QuestionType.SINGLE_CHOICE:
            options = [str(c["value"]) for c in q.choices]
            if q.key == "may_contact":
                values[q.key] = "yes" if rng.random() < 0.6 else "no"
            elif q.required or rng.random() < 0.8:
                values[q.key] = rng.choice(options)
        elif q.type == QuestionType.MULTIPLE_CHOICE:
            if q.required or rng.random() < 0.8:
                options = [str(c["value"]) for c in q.choices]
                values[q.key] = rng.sample(options, k=rng.randint(1, min(2, len(options))))
        elif q.type == QuestionType.TEXT and (q.required or rng.random() < text_share):
            # A checkout comment's tone follows the score asked before it.
            if texts == "checkout":
                text = checkout_comment(values, language, rng)
            else:
                text = comment(texts, q.key, language, rng)
            if text is not None:
                values[q.key] = text
    shown = visible_keys(questions, values)
    return {key: value for key, value in values.items() if key in shown}


def answer_row(response: Response, question: Question, value: Any) -> Answer:
    row = Answer(response=response, question=question, text="")
    if question.type == QuestionType.MULTIPLE_CHOICE:
        row.choices = list(value)
    elif question.type == QuestionType.SINGLE_CHOICE:
        row.choices, row.text = [value], value
    elif question.type == QuestionType.TEXT:
        row.text = value
    else:
        row.number = value
    return row
