"""What one question looks like on a hosted page: its kind, options, labels and error."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from surveys.hidden_fields import pipe
from surveys.hosted.languages import pick_text
from surveys.models import SCORED_TYPES, Question, QuestionType
from surveys.validation import field_name, scale_of


@dataclass
class Option:
    value: str
    label: str
    checked: bool
    id: str
    caption: str = ""


@dataclass
class Field:
    """What the template needs to draw one question."""

    key: str
    name: str
    type: str
    label: str
    help: str
    required: bool
    error: Any
    kind: str
    options: list[Option] = field(default_factory=list)
    text: str = ""
    multiline: bool = False
    low_label: Any = ""
    high_label: Any = ""
    # The ends of a CSAT / CES scale whose points' captions are hidden on a one-row phone
    # layout: said on screen only, as each point's label already carries its caption.
    captioned_ends: bool = False
    max_length: int = 5000


def scale_labels(question: Question) -> list[str]:
    """The caption under each point of a scored question's scale (empty where it has none)."""
    lo, hi = scale_of(question) or (0, 0)
    if question.type == QuestionType.CSAT:
        return [
            str(_("Very dissatisfied")),
            str(_("Dissatisfied")),
            str(_("Neither satisfied nor dissatisfied")),
            str(_("Satisfied")),
            str(_("Very satisfied")),
        ]
    if question.type == QuestionType.CES and hi == 5:
        return [
            str(_("Strongly disagree")),
            str(_("Disagree")),
            str(_("Neither agree nor disagree")),
            str(_("Agree")),
            str(_("Strongly agree")),
        ]
    if question.type == QuestionType.CES and hi == 7:
        return [
            str(_("Strongly disagree")),
            str(_("Disagree")),
            str(_("Somewhat disagree")),
            str(_("Neither agree nor disagree")),
            str(_("Somewhat agree")),
            str(_("Agree")),
            str(_("Strongly agree")),
        ]
    return [""] * (hi - lo + 1)


def field_for(
    question: Question,
    language: str,
    default: str,
    current: Any,
    error: Any,
    raw: Any,
    *,
    data: Mapping[str, Any] | None = None,
    fields: Any = (),
) -> Field:
    """`question` as a Field in `language`: `current` is its saved answer, `raw` what was just
    posted (shown back with `error`), None when nothing was. `{name}` of a hidden field in
    the label or help takes its value from `data` (empty when none)."""
    name = field_name(question)
    selected = (
        {str(v) for v in raw}
        if raw is not None
        else {str(v) for v in (current if isinstance(current, list) else [current])}
        if current is not None
        else set()
    )
    f = Field(
        key=question.key,
        name=name,
        type=question.type,
        label=pipe(
            pick_text(question.label, language, default) or question.key,
            data=data or {},
            names=fields or (),
        ),
        help=pipe(pick_text(question.help, language, default), data=data or {}, names=fields or ()),
        required=question.required,
        error=error,
        kind="text",
        multiline=question.multiline,
    )
    if question.type in SCORED_TYPES:
        lo, hi = scale_of(question) or (0, 0)
        captions = scale_labels(question)
        f.kind = "scale"
        for i, n in enumerate(range(lo, hi + 1)):
            label = str(n)
            if question.type == QuestionType.RATING:
                label = _("%(n)d of %(max)d stars") % {"n": n, "max": hi}
            f.options.append(
                Option(str(n), label, str(n) in selected, f"{name}-{n}", captions[i] or "")
            )
        if question.type == QuestionType.NPS:
            f.low_label, f.high_label = _("Not at all likely"), _("Extremely likely")
        elif captions[0] and not f.help:
            f.low_label, f.high_label, f.captioned_ends = captions[0], captions[-1], True
        elif question.type == QuestionType.RATING:
            f.kind = "stars"
    elif question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        f.kind = "choice" if question.type == QuestionType.SINGLE_CHOICE else "multi"
        for i, choice in enumerate(question.choices or []):
            if not isinstance(choice, Mapping):
                continue
            value = str(choice.get("value"))
            f.options.append(
                Option(
                    value,
                    pick_text(choice.get("label"), language, default) or value,
                    value in selected,
                    f"{name}-{i}",
                )
            )
    else:
        f.text = "\n".join(raw) if raw is not None else str(current or "")
    return f
