"""Answers: the typed value a row holds, and the writes of a page's answers (set-based)."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from surveys.logic import visible_keys
from surveys.models import SCORED_TYPES, Answer, Question, QuestionType, Response
from surveys.validation import AnswerValue


def answer_value(question: Question, answer: Answer) -> AnswerValue:
    """The typed value an Answer row holds for `question`."""
    if question.type in SCORED_TYPES:
        return answer.number
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return list(answer.choices or [])
    return answer.text or None


def answers_load(*, response: Response, questions: Sequence[Question]) -> dict[str, AnswerValue]:
    """The saved answers of `response` by question key (one query)."""
    by_id = {q.pk: q for q in questions}
    values: dict[str, AnswerValue] = {}
    for answer in Answer.objects.filter(response=response):
        question = by_id.get(answer.question_id)
        if question is not None:
            values[question.key] = answer_value(question, answer)
    return values


def answer_columns(question: Question, value: AnswerValue) -> dict[str, Any]:
    """The typed columns (number, text, choices) of an Answer row holding `value`."""
    if question.type in SCORED_TYPES:
        return {"number": int(value), "text": "", "choices": None}  # type: ignore[arg-type]
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return {"number": None, "text": "", "choices": list(value)}  # type: ignore[arg-type]
    if question.type == QuestionType.SINGLE_CHOICE:
        return {"number": None, "text": str(value), "choices": [str(value)]}
    return {"number": None, "text": str(value), "choices": None}


def answer_changes(
    questions: Iterable[Question], values: Mapping[str, AnswerValue]
) -> tuple[list[tuple[Question, dict[str, Any]]], list[int]]:
    """The answers to upsert (question, columns) and the ids of the questions emptied."""
    rows, emptied = [], []
    for question in questions:
        if question.key not in values:
            continue
        value = values[question.key]
        if value is None or value == []:
            emptied.append(question.pk)
        else:
            rows.append((question, answer_columns(question, value)))
    return rows, emptied


def answers_write(
    response: Response, questions: Iterable[Question], values: Mapping[str, AnswerValue]
) -> None:
    """Upsert the given answers and drop the ones emptied (two statements at most)."""
    rows, emptied = answer_changes(questions, values)
    if rows:
        Answer.objects.bulk_create(
            [Answer(response=response, question=q, **columns) for q, columns in rows],
            update_conflicts=True,
            unique_fields=["response", "question"],
            update_fields=["number", "text", "choices"],
        )
    if emptied:
        Answer.objects.filter(response=response, question_id__in=emptied).delete()


def hidden_answered(
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    earlier: Mapping[str, AnswerValue] | None,
    fields: Mapping[str, Any] | None = None,
) -> list[int]:
    """Ids of the questions answered earlier that display logic now hides (`fields`: the
    response's hidden field values)."""
    if not earlier or not any(q.show_if for q in questions):
        return []
    shown = visible_keys(questions, {**earlier, **values}, fields)
    return [q.pk for q in questions if q.key not in shown and q.key in earlier]
