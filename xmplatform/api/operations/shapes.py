"""How the API shapes a survey's questions and score groups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from journeys.models import Touchpoint
from surveys.models import Question
from surveys.validation import scale_of


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) if v is not None else "" for k, v in value.items()}
    return {"": str(value)} if value else {}


def question_data(question: Question) -> dict[str, Any]:
    scale = scale_of(question)
    return {
        "key": question.key,
        "type": question.type,
        "required": question.required,
        "page": question.page,
        "order": question.order,
        "label": _texts(question.label),
        "help": _texts(question.help),
        "choices": [
            {"value": str(c.get("value")), "label": _texts(c.get("label"))}
            for c in (question.choices or [])
            if isinstance(c, Mapping)
        ],
        "scale": {"min": scale[0], "max": scale[1]} if scale else None,
        "multiline": question.multiline,
        "show_if": question.show_if,
    }


def score_groups(rows: list[dict[str, Any]], *, by: str | None) -> list[dict[str, Any]]:
    """Scores rows with `group` as the API names it: a touchpoint's slug, a period's start."""
    slugs: dict[Any, str] = {}
    if by == "touchpoint":
        ids = {r["group"] for r in rows if isinstance(r["group"], int)}
        slugs = dict(Touchpoint.objects.filter(id__in=ids).values_list("id", "slug"))
    out = []
    for row in rows:
        group = row["group"]
        if by == "touchpoint" and isinstance(group, int):
            group = slugs.get(group, group)
        elif isinstance(group, dt.date):
            group = group.isoformat()
        out.append({**row, "group": group})
    return out
