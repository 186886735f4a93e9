"""Questions as authoring sends them (the API's shape), checked and turned into column values.

The rules are the builder's: a key per question, unique; a known type; labels (and choice
labels) in every survey language; at least two distinct choices for a choice question and none
for the others; a scale only where the type has one (CES 5 or 7 points, ratings 2 to 10 stars);
long text only for free text; display logic that can work (surveys.logic.logic_errors).
Messages are keyed by the field's path in the request, e.g. `questions[2].show_if`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext as _

from surveys.logic import QuestionSpec, logic_errors
from surveys.models import Question, QuestionType

CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
SCALE_TYPES = frozenset({QuestionType.CES, QuestionType.RATING})
FIXED_SCALES = {QuestionType.NPS: (0, 10), QuestionType.CSAT: (1, 5)}
CES_SCALES = (5, 7)
RATING_SCALE = (2, 10)
KEY_MAX = Question._meta.get_field("key").max_length or 64
QUESTION_FIELDS = frozenset(
    {
        "key",
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
    }
)

Errors = dict[str, list[str]]


@dataclass
class QuestionInput:
    """One checked question: its column values, and where it stood in the request."""

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "type",
        "required",
        "page",
        "order",
        "label",
        "help",
        "choices",
        "scale_max",
        "multiline",
        "show_if",
    )
    index: int
    key: str
    type: str
    required: bool
    page: int
    order: int
    label: dict[str, str]
    help: dict[str, str]
    choices: list[dict[str, Any]]
    scale_max: int | None
    multiline: bool
    show_if: dict[str, Any] | None

    def spec(self) -> QuestionSpec:
        return QuestionSpec(
            key=self.key,
            type=self.type,
            page=self.page,
            order=self.order,
            required=self.required,
            show_if=self.show_if,
            choices=tuple(str(c["value"]) for c in self.choices),
            scale_max=self.scale_max,
        )

    def columns(self) -> dict[str, Any]:
        """The Question fields this input sets."""
        return {name: getattr(self, name) for name in self.COLUMNS}


def missing_languages(texts: Any, languages: Sequence[str]) -> list[str]:
    """The codes of `languages` that `texts` has no non-empty text for."""
    texts = texts if isinstance(texts, Mapping) else {}
    return [code for code in languages if not str(texts.get(code) or "").strip()]


def add(errors: Errors, path: str, message: str) -> None:
    errors.setdefault(path, []).append(str(message))


def texts(value: Any, path: str, errors: Errors) -> dict[str, str]:
    """A {language: text} object, empty texts dropped; `null` is no text at all."""
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str | None) for k, v in value.items()
    ):
        add(errors, path, _('Give texts per language as an object, e.g. {"en": "…", "tr": "…"}.'))
        return {}
    return {k: v.strip() for k, v in value.items() if v and v.strip()}


def _whole(value: Any, default: int, path: str, errors: Errors, *, low: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 32767:
        add(errors, path, _("Give a whole number from %(low)d to 32767.") % {"low": low})
        return default
    return value


def _flag(value: Any, default: bool, path: str, errors: Errors) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        add(errors, path, _("Give true or false."))
        return default
    return value


def _choices(value: Any, path: str, languages: Sequence[str], errors: Errors) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        add(errors, path, _('Give the choices as a list of {"value": …, "label": {…}} objects.'))
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        here = f"{path}[{i}]"
        raw = item.get("value") if isinstance(item, Mapping) else None
        if isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        if not isinstance(raw, str) or not raw.strip():
            add(errors, f"{here}.value", _("Give each choice a value, e.g. “price”."))
            continue
        raw = raw.strip()
        if raw in seen:
            add(
                errors,
                f"{here}.value",
                _("The choice value “%(value)s” appears twice.") % {"value": raw},
            )
            continue
        seen.add(raw)
        labels = texts(item.get("label"), f"{here}.label", errors)
        absent = missing_languages(labels, languages)
        if absent:
            add(
                errors,
                f"{here}.label",
                _("The choice “%(value)s” needs a label in: %(codes)s.")
                % {"value": raw, "codes": ", ".join(absent)},
            )
        out.append({"value": raw, "label": labels})
    return out


def _scale(value: Any, qtype: str, path: str, errors: Errors) -> int | None:
    """The scale maximum to store: `scale` is null, a maximum, or {"min": …, "max": …}."""
    if value is None:
        return None
    low: Any = None
    high: Any = value
    if isinstance(value, Mapping):
        low, high = value.get("min"), value.get("max")
    if (
        isinstance(high, bool)
        or not isinstance(high, int)
        or (low is not None and (isinstance(low, bool) or not isinstance(low, int)))
    ):
        add(errors, path, _('Give the scale as a whole number or as {"min": 1, "max": 7}.'))
        return None
    if qtype in FIXED_SCALES:
        if (low if low is not None else FIXED_SCALES[qtype][0], high) != FIXED_SCALES[qtype]:
            lo, hi = FIXED_SCALES[qtype]
            add(
                errors,
                path,
                _("This type's scale is always %(min)d to %(max)d; leave the scale empty.")
                % {"min": lo, "max": hi},
            )
        return None
    if qtype not in SCALE_TYPES:
        add(errors, path, _("Only CES and rating questions take a scale maximum."))
        return None
    if low not in (None, 1):
        add(errors, path, _("CES and rating scales start at 1."))
        return None
    if qtype == QuestionType.CES and high not in CES_SCALES:
        add(errors, path, _("A CES scale has 5 or 7 points."))
        return None
    if qtype == QuestionType.RATING and not RATING_SCALE[0] <= high <= RATING_SCALE[1]:
        add(errors, path, _("A rating has from 2 to 10 stars."))
        return None
    return int(high)


def clean_question(
    raw: Any, index: int, languages: Sequence[str], errors: Errors
) -> QuestionInput | None:
    """The checked question at `questions[index]`, or None when it cannot be read at all."""
    path = f"questions[{index}]"
    if not isinstance(raw, Mapping):
        add(errors, path, _("Give each question as an object with at least key, type and label."))
        return None
    for name in sorted(set(raw) - QUESTION_FIELDS):
        add(
            errors,
            f"{path}.{name}",
            _("Unknown field; a question has: %(fields)s.")
            % {"fields": ", ".join(sorted(QUESTION_FIELDS))},
        )
    key = raw.get("key")
    if not isinstance(key, str) or not key:
        add(errors, f"{path}.key", _("Give the question a key, e.g. “nps”."))
        key = ""
    else:
        try:
            validate_slug(key)
        except ValidationError:
            add(errors, f"{path}.key", _("A key has only letters, digits, “-” and “_”."))
        if len(key) > KEY_MAX:
            add(errors, f"{path}.key", _("A key has at most %(n)d characters.") % {"n": KEY_MAX})
    qtype = raw.get("type")
    if qtype not in QuestionType.values:
        add(
            errors,
            f"{path}.type",
            _("Unknown question type; use one of: %(types)s.")
            % {"types": ", ".join(QuestionType.values)},
        )
        qtype = ""
    label = texts(raw.get("label"), f"{path}.label", errors)
    absent = missing_languages(label, languages)
    if absent:
        add(
            errors,
            f"{path}.label",
            _("Give the label in every survey language (missing: %(codes)s).")
            % {"codes": ", ".join(absent)},
        )
    choices = _choices(raw.get("choices"), f"{path}.choices", languages, errors)
    if qtype in CHOICE_TYPES and len(choices) < 2 and f"{path}.choices" not in errors:
        add(errors, f"{path}.choices", _("A choice question needs at least two choices."))
    if qtype and qtype not in CHOICE_TYPES and choices:
        add(errors, f"{path}.choices", _("Only single and multiple choice questions take choices."))
    multiline = _flag(raw.get("multiline"), False, f"{path}.multiline", errors)
    if qtype and qtype != QuestionType.TEXT and multiline:
        add(errors, f"{path}.multiline", _("Only free-text questions can be long text."))
    show_if = raw.get("show_if")
    if show_if in ({}, []):
        show_if = None
    if show_if is not None and not isinstance(show_if, dict):
        add(
            errors,
            f"{path}.show_if",
            _(
                'Display logic must be a JSON object such as {"question": "nps", "op": "lte", '
                '"value": 6}.'
            ),
        )
        show_if = None
    return QuestionInput(
        index=index,
        key=key,
        type=qtype,
        required=_flag(raw.get("required"), True, f"{path}.required", errors),
        page=_whole(raw.get("page"), 1, f"{path}.page", errors, low=1),
        order=_whole(raw.get("order"), index + 1, f"{path}.order", errors, low=0),
        label=label,
        help=texts(raw.get("help"), f"{path}.help", errors),
        choices=choices,
        scale_max=_scale(raw.get("scale"), qtype, f"{path}.scale", errors) if qtype else None,
        multiline=multiline,
        show_if=show_if,
    )


def clean_questions(
    raw: Any, languages: Sequence[str], errors: Errors, *, hidden: Sequence[str] = ()
) -> list[QuestionInput]:
    """Every question of `raw` checked alone, then together: unique keys, sound logic (which
    may test the survey's `hidden` fields)."""
    if not isinstance(raw, list):
        add(errors, "questions", _("Give the questions as a list."))
        return []
    cleaned = [q for i, item in enumerate(raw) if (q := clean_question(item, i, languages, errors))]
    by_key: dict[str, QuestionInput] = {}
    for question in cleaned:
        if not question.key:
            continue
        if question.key in by_key:
            add(
                errors,
                f"questions[{question.index}].key",
                _("Another question already uses the key “%s”.") % question.key,
            )
            continue
        by_key[question.key] = question
    if errors:
        return cleaned  # the logic check needs every row's values
    for key, problems in logic_errors([q.spec() for q in cleaned], hidden).items():
        for problem in problems:
            add(errors, f"questions[{by_key[key].index}].show_if", problem)
    return cleaned
