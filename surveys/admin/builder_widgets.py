"""Builder inputs that need no JSON: choices as rows, display logic as "show when" rows.

Both render plain form controls, so the builder works without JavaScript; the builder's script
(surveys/static/surveys/builder.js) only adds and removes rows and narrows the offered options.
"""

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from surveys.admin.builder_languages import admin_language_codes, language_name, tag_label
from surveys.languages import is_rtl
from surveys.models import QuestionType

SCALED_TYPES = frozenset({"nps", "csat", "ces", "rating"})
BLANK_CHOICE_ROWS = 2

# What "show when" offers, in the order the operator list shows them.
OPERATOR_LABELS: dict[str, Any] = {
    "eq": _("is"),
    "neq": _("is not"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "contains": _("includes"),
    "answered": _("is answered"),
    "not_answered": _("is not answered"),
}
NO_VALUE_OPS = frozenset({"answered", "not_answered"})
OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        SCALED_TYPES, ("eq", "neq", "lt", "lte", "gt", "gte", "answered", "not_answered")
    ),
    QuestionType.SINGLE_CHOICE: ("eq", "neq", "answered", "not_answered"),
    QuestionType.MULTIPLE_CHOICE: ("contains", "answered", "not_answered"),
    QuestionType.TEXT: ("answered", "not_answered"),
}


def _getlist(data: Any, name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(name)]
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


# --- Choices as rows -----------------------------------------------------------------------


class ChoiceRowsWidget(forms.Widget):
    """One row per choice: its value and one label column per survey language
    (<name>-label_<code>); labels in other languages kept in hidden inputs (builder_languages).

    Two empty rows follow the choices: filling one adds a choice, clearing a row removes it.
    The form sets `languages` (the columns) and `readable` (also read back).
    """

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.languages: list[str] = admin_language_codes()
        self.readable: set[str] = set()

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[dict[str, Any]]:
        values = _getlist(data, f"{name}-value")
        codes = list(dict.fromkeys([*self.languages, *sorted(self.readable)]))
        labels = {
            code: _getlist(data, f"{name}-label_{code}")
            for code in codes
            if f"{name}-label_{code}" in data
        }
        size = max([len(values), *(len(v) for v in labels.values())])
        rows = []
        for i in range(size):
            rows.append(
                {
                    "value": values[i] if i < len(values) else "",
                    "label": {code: (v[i] if i < len(v) else "") for code, v in labels.items()},
                }
            )
        return rows

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-value" not in data

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        rows = [
            row for row in (value if isinstance(value, list) else []) if isinstance(row, Mapping)
        ]
        rows += [{"value": "", "label": {}}] * BLANK_CHOICE_ROWS
        codes = self.languages
        kept = sorted(
            {
                str(code)
                for row in rows
                if isinstance(row.get("label"), Mapping)
                for code, text in row["label"].items()
                if code not in codes and str(text).strip()
            }
        )
        head = format_html_join(
            "",
            '<th scope="col" data-lang="{}" lang="{}" title="{}">{}</th>',
            ((code, code, language_name(code), tag_label(code)) for code in codes),
        )
        body = []
        for number, row in enumerate(rows, start=1):
            label = row.get("label")
            labels: Mapping[str, Any] = label if isinstance(label, Mapping) else {}
            cells = format_html_join(
                "",
                '<td data-lang="{0}"><input type="text" name="{1}-label_{0}" value="{2}" '
                'lang="{0}"{3} aria-label="{4}"></td>',
                (
                    (
                        code,
                        name,
                        labels.get(code, ""),
                        mark_safe(' dir="rtl"') if is_rtl(code) else "",
                        _("Choice %(n)s, label in %(language)s")
                        % {"n": number, "language": language_name(code)},
                    )
                    for code in codes
                ),
            )
            hidden = format_html_join(
                "",
                '<input type="hidden" name="{}-label_{}" value="{}" class="xm-kept-text" '
                'data-lang="{}">',
                ((name, code, labels.get(code, ""), code) for code in kept),
            )
            body.append(
                format_html(
                    '<tr class="xm-choice-row"><td class="xm-choice-value-cell" data-label="{}">'
                    '<input type="text" name="{}-value" value="{}" class="xm-choice-value" '
                    'aria-label="{}">{}</td>{}<td class="xm-row-tools"><button type="button" '
                    'class="xm-choice-remove" hidden aria-label="{}">×</button></td></tr>',
                    _("Value"),
                    name,
                    row.get("value", ""),
                    _("Choice %(n)s, value") % {"n": number},
                    hidden,
                    cells,
                    _("Remove choice %(n)s") % {"n": number},
                )
            )
        return format_html(
            '<div class="xm-choices" data-name="{}"><table class="xm-choice-rows">'
            '<thead><tr><th scope="col">{}</th>{}<th scope="col" class="xm-row-tools">'
            '<span class="visually-hidden">{}</span></th></tr></thead><tbody>{}</tbody></table>'
            '<button type="button" class="button xm-choice-add" hidden>{}</button>'
            '<p class="help xm-nojs">{}</p></div>',
            name,
            _("Value"),
            head,
            _("Remove"),
            mark_safe("".join(body)),  # noqa: S308 - each row built with format_html
            _("+ Add choice"),
            _("Fill an empty row to add a choice; clear a row to remove it."),
        )


def normalise_choices(value: Any) -> list[dict[str, Any]]:
    """Stored choices in their canonical shape: value, and only the non-empty labels."""
    out = []
    for row in value if isinstance(value, list) else []:
        if not isinstance(row, Mapping):
            continue
        labels = row.get("label") if isinstance(row.get("label"), Mapping) else {}
        out.append(
            {
                "value": str(row.get("value", "")).strip(),
                "label": {k: str(v).strip() for k, v in labels.items() if str(v).strip()},
            }
        )
    return out


class ChoiceRowsField(forms.Field):
    """Choices as [{"value": …, "label": {lang: …}}]: empty rows dropped, values unique."""

    widget = ChoiceRowsWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        choices: list[dict[str, Any]] = []
        seen: set[str] = set()
        for number, row in enumerate(normalise_choices(value), start=1):
            if not row["value"] and not row["label"]:
                continue
            if not row["value"]:
                raise ValidationError(
                    _("Choice row %(n)s has a label but no value; give it a short value."),
                    params={"n": number},
                )
            if row["value"] in seen:
                raise ValidationError(
                    _("The choice value “%(value)s” appears twice."), params={"value": row["value"]}
                )
            seen.add(row["value"])
            choices.append(row)
        return choices

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != normalise_choices(initial)
        except ValidationError:
            return True


# --- Display logic as "show when" rows -----------------------------------------------------


# A "show when" row about a hidden field names it "field:<name>" (surveys.hidden_fields).
FIELD_PREFIX = "field:"


def condition_rows(show_if: Any) -> tuple[str, list[dict[str, Any]]] | None:
    """(join, rows) for a show_if the row editor can show, None for one it cannot."""
    if not show_if:
        return "all", []
    if not isinstance(show_if, Mapping):
        return None
    join = "any" if "any" in show_if else "all"
    conditions = show_if.get(join) if ("all" in show_if or "any" in show_if) else [show_if]
    if not isinstance(conditions, list):
        return None
    rows = []
    for cond in conditions:
        if not isinstance(cond, Mapping) or "all" in cond or "any" in cond:
            return None
        if cond.get("op") not in OPERATOR_LABELS or isinstance(cond.get("value"), list):
            return None
        value = cond.get("value", "")
        about = (
            f"{FIELD_PREFIX}{cond['field']}" if "field" in cond else str(cond.get("question", ""))
        )
        rows.append({"question": about, "op": cond["op"], "value": value})
    return join, rows


class ShowIfWidget(forms.Widget):
    """ "Show when [question] [operator] [value]" rows, joined by all/any.

    `questions` lists (key, text) of the questions a condition may refer to; the builder's
    script narrows it to earlier pages as questions move. A rule the rows cannot show (nested
    groups, lists of values) is kept as it is in a hidden input until it is replaced.
    """

    questions: list[tuple[str, str]]
    # The survey's hidden fields, offered after the questions as "field:<name>".
    fields: list[str]

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.questions = []
        self.fields = []

    def _choices(self) -> list[tuple[str, str]]:
        return [
            *self.questions,
            *(
                (f"{FIELD_PREFIX}{name}", str(_("Hidden field: %(name)s") % {"name": name}))
                for name in self.fields
            ),
        ]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, Any]:
        questions = _getlist(data, f"{name}-question")
        ops = _getlist(data, f"{name}-op")
        values = _getlist(data, f"{name}-value")
        rows = [
            {
                "question": q.strip(),
                "op": ops[i].strip() if i < len(ops) else "",
                "value": values[i].strip() if i < len(values) else "",
            }
            for i, q in enumerate(questions)
        ]
        join = (_getlist(data, f"{name}-join") or ["all"])[0]
        return {"join": join, "rows": rows, "kept": (_getlist(data, f"{name}-kept") or [""])[0]}

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-question" not in data and f"{name}-kept" not in data

    def _row(self, name: str, number: int, row: Mapping[str, Any]) -> SafeString:
        chosen = str(row.get("question", ""))
        offered = self._choices()
        keys = [key for key, _text in offered]
        options = [("", str(_("(always shown)") if number == 1 else _("(no further condition)")))]
        options += offered
        if chosen and chosen not in keys:
            options.append((chosen, chosen))
        question_select = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, mark_safe(" selected") if key == chosen else "", text) for key, text in options),
        )
        op = str(row.get("op", ""))
        op_select = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (code, mark_safe(" selected") if code == op else "", label)
                for code, label in OPERATOR_LABELS.items()
            ),
        )
        return format_html(
            '<div class="xm-condition" role="group" aria-label="{}">'
            '<select name="{}-question" class="xm-cond-question" aria-label="{}">{}</select> '
            '<select name="{}-op" class="xm-cond-op" aria-label="{}">{}</select> '
            '<input type="text" name="{}-value" value="{}" class="xm-cond-value" size="10" '
            'aria-label="{}"> <button type="button" class="xm-cond-remove" hidden '
            'aria-label="{}">×</button></div>',
            _("Condition %(n)s") % {"n": number},
            name,
            _("Question the condition is about"),
            question_select,
            name,
            _("Operator"),
            op_select,
            name,
            row.get("value", ""),
            _("Value"),
            _("Remove condition %(n)s") % {"n": number},
        )

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        kept = ""
        if isinstance(value, Mapping) and "rows" in value:
            join, rows, kept = value.get("join", "all"), list(value["rows"]), value.get("kept", "")
            rows = [r for r in rows if r.get("question")]
        else:
            shown = condition_rows(value)
            if shown is None:
                join, rows, kept = "all", [], json.dumps(value, ensure_ascii=False)
            else:
                join, rows = shown
        joins = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (code, mark_safe(" selected") if code == join else "", label)
                for code, label in (
                    ("all", _("all of these conditions hold")),
                    ("any", _("any of these conditions holds")),
                )
            ),
        )
        kept_html = (
            format_html(
                '<p class="xm-kept"><input type="hidden" name="{}-kept" value="{}">{} '
                "<code>{}</code></p>",
                name,
                kept,
                _(
                    "This rule combines conditions in a way these controls cannot show; it is "
                    "kept as it is unless you choose a question below."
                ),
                kept,
            )
            if kept
            else ""
        )
        rendered = "".join(
            self._row(name, n, row)
            for n, row in enumerate([*rows, {"question": "", "op": "", "value": ""}], start=1)
        )
        return format_html(
            '<div class="xm-show-if" data-name="{}" data-fields="{}">{}'
            '<p class="xm-join"><label>{} <select name="{}-join">{}</select></label></p>'
            '<div class="xm-conditions">{}</div>'
            '<button type="button" class="button xm-cond-add" hidden>{}</button></div>',
            name,
            json.dumps(
                {
                    f"{FIELD_PREFIX}{n}": str(_("Hidden field: %(name)s") % {"name": n})
                    for n in self.fields
                },
                ensure_ascii=False,
            ),
            kept_html,
            _("Show this question when"),
            name,
            joins,
            mark_safe(rendered),  # noqa: S308 - each row built with format_html
            _("+ Add condition"),
        )


class ShowIfField(forms.Field):
    """Display logic from rows; cross-question checks (types, pages) are the formset's."""

    widget = ShowIfWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, Mapping) or "rows" not in value:
            return value or None  # a stored rule (initial data) passes through
        rows = [row for row in value["rows"] if row.get("question")]
        if not rows:
            kept = value.get("kept") or ""
            if not kept:
                return None
            try:
                return json.loads(kept)
            except ValueError as exc:
                raise ValidationError(
                    _("The kept display rule is damaged; build it again.")
                ) from exc
        conditions = []
        for row in rows:
            op = row.get("op", "")
            if op not in OPERATOR_LABELS:
                raise ValidationError(
                    _("Choose how “%(key)s” is compared."), params={"key": row["question"]}
                )
            about = row["question"]
            cond: dict[str, Any] = (
                {"field": about[len(FIELD_PREFIX) :], "op": op}
                if about.startswith(FIELD_PREFIX)
                else {"question": about, "op": op}
            )
            if op not in NO_VALUE_OPS:
                if row.get("value", "") == "":
                    raise ValidationError(
                        _("Choose the value “%(key)s” %(operator)s."),
                        params={"key": row["question"], "operator": OPERATOR_LABELS[op]},
                    )
                cond["value"] = row["value"]
            conditions.append(cond)
        if len(conditions) == 1:
            return conditions[0]
        return {"any" if value.get("join") == "any" else "all": conditions}

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            new = self.to_python(data)
        except ValidationError:
            return True
        return _loose(new) != _loose(initial)


def _loose(show_if: Any) -> str:
    """A comparable form of a rule: values as text (the rows post text, storage has numbers)."""

    def text(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {k: text(v) for k, v in node.items()}
        if isinstance(node, list):
            return [text(v) for v in node]
        return str(node)

    return json.dumps(text(show_if or None), sort_keys=True)
