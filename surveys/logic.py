"""Display logic: when a question is shown, and whether a survey's logic is sound.

A question's `show_if` is either a condition
    {"question": "<earlier key>", "op": "<op>", "value": <value>}
or {"all": [cond, …]} / {"any": [cond, …]}. Ops: eq, neq, lt, lte, gt, gte, in, not_in
(value is a list), contains (a multiple-choice answer includes value), answered, not_answered.
A condition on an unanswered (or hidden) question is false, except `not_answered`.
A condition may test a hidden field (surveys.hidden_fields) instead of a question:
    {"field": "store", "op": "eq", "value": "Kadıköy"}
with eq, neq, in, not_in, answered (the field has a value) or not_answered.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

NUMERIC_OPS = {"lt", "lte", "gt", "gte"}
VALUE_OPS = NUMERIC_OPS | {"eq", "neq", "in", "not_in", "contains"}
ALL_OPS = VALUE_OPS | {"answered", "not_answered"}
FIELD_OPS = {"eq", "neq", "in", "not_in", "answered", "not_answered"}

SCALES = {"nps": (0, 10), "csat": (1, 5)}


@dataclass(frozen=True)
class QuestionSpec:
    """What logic needs to know about one question (works for models and unsaved forms)."""

    key: str
    type: str
    page: int
    order: int
    required: bool
    show_if: Any
    choices: tuple[str, ...] = ()
    scale_max: int | None = None

    @classmethod
    def of(cls, question: Any) -> "QuestionSpec":
        return cls(
            key=question.key,
            type=question.type,
            page=question.page,
            order=question.order,
            required=question.required,
            show_if=question.show_if,
            choices=tuple(str(c.get("value")) for c in (question.choices or [])),
            scale_max=question.scale_max,
        )

    def value_range(self) -> tuple[int, int] | None:
        if self.type in SCALES:
            return SCALES[self.type]
        if self.type == "ces":
            return (1, self.scale_max or 7)
        if self.type == "rating":
            return (1, self.scale_max or 5)
        return None


def _holds(cond: Mapping[str, Any], answers: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    if not isinstance(cond, Mapping):
        return False  # a malformed condition (logic_errors reports it) must not break a page
    if "all" in cond:
        return all(_holds(c, answers, fields) for c in cond["all"])
    if "any" in cond:
        return any(_holds(c, answers, fields) for c in cond["any"])
    op = cond.get("op")
    if "field" in cond:
        answer = fields.get(cond.get("field"))
    else:
        answer = answers.get(cond.get("question"))
    empty = answer is None or answer == "" or answer == []
    if op == "not_answered":
        return empty
    if empty:
        return False
    if op == "answered":
        return True
    value = cond.get("value")
    try:
        if op == "eq":
            return str(answer) == str(value)
        if op == "neq":
            return str(answer) != str(value)
        if op == "in":
            return str(answer) in {str(v) for v in value}
        if op == "not_in":
            return str(answer) not in {str(v) for v in value}
        if op == "contains":
            items = answer if isinstance(answer, list) else [answer]
            return str(value) in {str(v) for v in items}
        a, v = float(answer), float(value)
    except (TypeError, ValueError):
        return False
    return {"lt": a < v, "lte": a <= v, "gt": a > v, "gte": a >= v}.get(op, False)


def visible_keys(
    questions: Iterable[Any],
    answers: Mapping[str, Any],
    fields: Mapping[str, Any] | None = None,
) -> set[str]:
    """Keys of the questions shown for `answers` and the response's hidden field values
    `fields`; answers to hidden questions do not count."""
    shown: set[str] = set()
    effective: dict[str, Any] = {}
    for q in sorted(questions, key=lambda q: (q.page, q.order)):
        if not q.show_if or _holds(q.show_if, effective, fields or {}):
            shown.add(q.key)
            if q.key in answers:
                effective[q.key] = answers[q.key]
    return shown


def is_visible(
    question: Any, answers: Mapping[str, Any], fields: Mapping[str, Any] | None = None
) -> bool:
    """Whether one question is shown given the (already filtered) earlier answers."""
    return not question.show_if or _holds(question.show_if, answers, fields or {})


def _conditions(show_if: Any) -> list[Mapping[str, Any]]:
    if not isinstance(show_if, Mapping):
        return [show_if]
    if "all" in show_if or "any" in show_if:
        inner = show_if.get("all", show_if.get("any"))
        if not isinstance(inner, list) or not inner:
            return [{}]
        return [c for sub in inner for c in _conditions(sub)]
    return [show_if]


def _satisfiable(cond: Mapping[str, Any], target: QuestionSpec) -> bool:
    op, value = cond["op"], cond.get("value")
    if op in ("answered", "not_answered"):
        return True
    rng = target.value_range()
    if rng:
        lo, hi = rng
        values = value if isinstance(value, list) else [value]
        try:
            nums = [float(v) for v in values]
        except (TypeError, ValueError):
            return False
        if op in ("eq", "in"):
            return any(lo <= n <= hi for n in nums)
        if op == "lt":
            return lo < nums[0]
        if op == "lte":
            return lo <= nums[0]
        if op == "gt":
            return hi > nums[0]
        if op == "gte":
            return hi >= nums[0]
        return True
    if target.choices and op in ("eq", "in", "contains"):
        values = value if isinstance(value, list) else [value]
        return any(str(v) in target.choices for v in values)
    if op in NUMERIC_OPS:
        return False
    return True


def _field_problem(cond: Mapping[str, Any], fields: Iterable[str]) -> str | None:
    """What is wrong with a condition on a hidden field, or None."""
    if cond["field"] not in set(fields):
        return _("The condition refers to an unknown hidden field “%s”.") % cond["field"]
    if cond.get("op") not in FIELD_OPS:
        return _("The operator “%s” cannot test a hidden field.") % cond.get("op")
    if cond["op"] in VALUE_OPS and "value" not in cond:
        return _("The operator “%s” needs a value.") % cond["op"]
    if cond["op"] in ("in", "not_in") and not isinstance(cond["value"], list):
        return _("The operator “%s” needs a list of values.") % cond["op"]
    return None


def logic_errors(questions: Iterable[Any], fields: Iterable[str] = ()) -> dict[str, list[str]]:
    """Problems with the survey's display logic, by question key (empty when sound).

    A condition may refer only to a question on an earlier page (so it works without
    JavaScript) or to one of the survey's hidden `fields`, must use a known operator with a
    value the referred question can take, and must be satisfiable: a required question that
    can never be shown is an error.
    """
    fields = list(fields)
    specs = sorted(
        (q if isinstance(q, QuestionSpec) else QuestionSpec.of(q) for q in questions),
        key=lambda s: (s.page, s.order),
    )
    by_key = {s.key: s for s in specs}
    errors: dict[str, list[str]] = {}
    for spec in specs:
        if not spec.show_if:
            continue
        problems: list[str] = []
        for cond in _conditions(spec.show_if):
            if isinstance(cond, Mapping) and "field" in cond and "op" in cond:
                problem = _field_problem(cond, fields)
                if problem:
                    problems.append(problem)
                continue
            if not isinstance(cond, Mapping) or "question" not in cond or "op" not in cond:
                problems.append(_('A condition needs "question" and "op".'))
                continue
            ref = by_key.get(cond["question"])
            if ref is None:
                problems.append(
                    _("The condition refers to an unknown question “%s”.") % cond["question"]
                )
                continue
            if ref.key == spec.key or ref.page >= spec.page:
                problems.append(
                    _("The condition refers to “%s”, which is not on an earlier page.") % ref.key
                )
                continue
            if cond["op"] not in ALL_OPS:
                problems.append(_("Unknown operator “%s”.") % cond["op"])
                continue
            if cond["op"] in VALUE_OPS and "value" not in cond:
                problems.append(_("The operator “%s” needs a value.") % cond["op"])
                continue
            if not _satisfiable(cond, ref):
                problems.append(
                    _("“%(key)s” can never meet this condition, so this question is never shown.")
                    % {"key": ref.key}
                )
        if problems:
            errors[spec.key] = problems
    return errors
