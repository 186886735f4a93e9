"""A version's questions as a snapshot, and what changed between two snapshots.

A snapshot is the list of the questions respondents were shown, each in the API's shape (key,
type, required, page, order, label, help, choices, scale, multiline, show_if), by page and order.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from surveys.logic import QuestionSpec

COMPARED = (
    "type",
    "required",
    "page",
    "order",
    "label",
    "help",
    "choices",
    "scale",
    "multiline",
    "show_if",
)


class ChangeKind:
    ADDED = "added"
    CHANGED = "changed"
    RETIRED = "retired"
    REMOVED = "removed"
    RESTORED = "restored"


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) if v is not None else "" for k, v in value.items()}
    return {"": str(value)} if value else {}


def question_shape(question: Any) -> dict[str, Any]:
    """One question (a model, or anything with its fields) as the API shows it."""
    scale = QuestionSpec.of(question).value_range()
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


def snapshot(questions: Iterable[Any]) -> list[dict[str, Any]]:
    """The shown (not retired) questions in answer order, as a version records them."""
    shown = [q for q in questions if getattr(q, "retired_in", None) is None]
    shown.sort(key=lambda q: (q.page, q.order, q.key))
    return [question_shape(q) for q in shown]


def changes_between(
    before: Sequence[Mapping[str, Any]],
    after: Sequence[Mapping[str, Any]],
    *,
    retired: Iterable[str] = (),
    restored: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """What changed from `before` to `after`: [{"key", "kind", "fields"}], in `after`'s order
    then the questions that went. `retired` names the keys that went but keep their answers;
    `restored`, those that came back after being retired."""
    old = {q["key"]: q for q in before}
    new_keys = {q["key"] for q in after}
    retired, restored = set(retired), set(restored)
    out: list[dict[str, Any]] = []
    for question in after:
        key = question["key"]
        if key not in old:
            kind = ChangeKind.RESTORED if key in restored else ChangeKind.ADDED
            out.append({"key": key, "kind": kind, "fields": []})
            continue
        fields = [f for f in COMPARED if old[key].get(f) != question.get(f)]
        if fields:
            out.append({"key": key, "kind": ChangeKind.CHANGED, "fields": fields})
    for question in before:
        key = question["key"]
        if key not in new_keys:
            kind = ChangeKind.RETIRED if key in retired else ChangeKind.REMOVED
            out.append({"key": key, "kind": kind, "fields": []})
    return out
