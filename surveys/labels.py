"""Survey texts in the reader's language: per-language labels, and choice answers by label."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language

from surveys.models import QuestionType


def localised(texts: Any, fallback: str = "en") -> str:
    """The text of a per-language dict in the current language, else any available one."""
    if not isinstance(texts, dict) or not texts:
        return ""
    language = (get_language() or fallback).split("-")[0]
    return str(texts.get(language) or texts.get(fallback) or next(iter(texts.values())))


def answer_display(*, type: str, choices: Any, value: Any) -> Any:  # noqa: A002
    """A choice answer by its labels in the current language; other answers as they are.

    A code no longer among the question's choices is shown as stored.
    """
    if type not in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        return value
    labels = {
        str(choice.get("value")): localised(choice.get("label")) or str(choice.get("value"))
        for choice in choices or []
        if isinstance(choice, dict)
    }
    if isinstance(value, list):
        return [labels.get(str(v), str(v)) for v in value]
    return labels.get(str(value), value) if value is not None else None
