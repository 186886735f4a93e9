"""Answer validation for hosted survey pages, one rule per question type.

Raw input arrives as lists of strings (a posted form's `getlist`); a clean answer is an
`int` for scored types (NPS, CSAT, CES, rating), a `str` for text and single choice, and a
`list[str]` for multiple choice. An empty answer is `None`. Messages are lazy translations, so
they render in the respondent's language.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from surveys.logic import QuestionSpec
from surveys.models import QuestionType

TEXT_MAX_CHARS = 5000
INTEGER = re.compile(r"-?[0-9]{1,3}")

AnswerValue = int | str | list[str] | None


class Invalid(Exception):
    """A raw answer that cannot be accepted, with the message shown next to the question."""

    def __init__(self, message: Any) -> None:
        super().__init__(message)
        self.message = message


def scale_of(question: Any) -> tuple[int, int] | None:
    """The allowed range of a scored question, or None for other types."""
    return QuestionSpec.of(question).value_range()


def offered_values(question: Any) -> list[str]:
    return [str(c.get("value")) for c in (question.choices or []) if isinstance(c, Mapping)]


def _one(raw: Sequence[str]) -> str:
    values = [v for v in raw if v.strip()]
    if len(values) > 1:
        raise Invalid(_("Choose only one answer."))
    return values[0].strip() if values else ""


def _scored(question: Any, raw: Sequence[str]) -> int | None:
    value = _one(raw)
    if not value:
        return None
    lo, hi = scale_of(question) or (0, 0)
    # Plain ASCII digits only: int() would also take "1_0", "+3" or non-Latin digits.
    number = int(value) if INTEGER.fullmatch(value) else None
    if number is None or not lo <= number <= hi:
        if question.type == QuestionType.NPS:
            raise Invalid(_("Choose a whole number from 0 to 10."))
        if question.type == QuestionType.CSAT:
            raise Invalid(_("Choose a rating from 1 (very dissatisfied) to 5 (very satisfied)."))
        if question.type == QuestionType.RATING:
            raise Invalid(
                ngettext_lazy(
                    "Choose from 1 to %(max)d star.", "Choose from 1 to %(max)d stars.", "max"
                )
                % {"max": hi}
            )
        raise Invalid(_("Choose a value from %(min)d to %(max)d.") % {"min": lo, "max": hi})
    return number


def _text(raw: Sequence[str]) -> str | None:
    # PostgreSQL text cannot hold NUL characters; they are never meaningful in an answer.
    value = "\n".join(raw).replace("\x00", "").strip()
    if not value:
        return None
    if len(value) > TEXT_MAX_CHARS:
        raise Invalid(
            _(
                "Your answer is %(length)s characters long; please shorten it to at most "
                "%(limit)s characters."
            )
            % {
                "length": number_format(len(value), force_grouping=True),
                "limit": number_format(TEXT_MAX_CHARS, force_grouping=True),
            }
        )
    return value


def _single(question: Any, raw: Sequence[str]) -> str | None:
    value = _one(raw)
    if not value:
        return None
    if value not in offered_values(question):
        raise Invalid(_("Choose one of the options offered."))
    return value


def _multiple(question: Any, raw: Sequence[str]) -> list[str] | None:
    offered = offered_values(question)
    chosen = list(dict.fromkeys(v.strip() for v in raw if v.strip()))
    if not chosen:
        return None
    if any(v not in offered for v in chosen):
        raise Invalid(_("Choose only among the options offered."))
    # Keep the survey's order, not the order the browser happened to send.
    return [v for v in offered if v in chosen]


def clean_answer(question: Any, raw: Sequence[str]) -> AnswerValue:
    """The typed answer for `raw`, or raise Invalid; `None` means not answered."""
    if question.type in (QuestionType.NPS, QuestionType.CSAT, QuestionType.CES):
        return _scored(question, raw)
    if question.type == QuestionType.RATING:
        return _scored(question, raw)
    if question.type == QuestionType.SINGLE_CHOICE:
        return _single(question, raw)
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return _multiple(question, raw)
    return _text(raw)


def field_name(question: Any) -> str:
    """The form field that carries `question`'s answer."""
    return f"q-{question.key}"


def clean_page(
    questions: Iterable[Any],
    data: Any,
    *,
    visible: set[str],
) -> tuple[dict[str, AnswerValue], dict[str, Any], dict[str, list[str]]]:
    """Clean one page's posted answers: (clean answers by key, errors by key, raw by key).

    Only questions in `visible` are read; a required question hidden by display logic never
    blocks. `data` is a QueryDict or a mapping of key to list of strings.
    """
    cleaned: dict[str, AnswerValue] = {}
    errors: dict[str, Any] = {}
    raws: dict[str, list[str]] = {}
    for question in questions:
        if question.key not in visible:
            continue
        name = field_name(question)
        raw = list(data.getlist(name)) if hasattr(data, "getlist") else list(data.get(name, []))
        raws[question.key] = raw
        try:
            value = clean_answer(question, raw)
        except Invalid as exc:
            errors[question.key] = exc.message
            continue
        if value is None and question.required:
            errors[question.key] = _("Please answer this question.")
        cleaned[question.key] = value
    return cleaned, errors, raws
