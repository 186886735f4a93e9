"""The builder's phone-sized preview and translation completeness, of saved or unsaved edits.

A draft is read leniently from the change form as posted (half-typed cards are previewed as
they are); saving still goes through the form's validation. Questions use the API's shape:
key, type, required, page, order, label{lang}, help{lang}, choices[{value, label{lang}}],
scale, show_if.

The preview wears the brand the hosted pages would (surveys.hosted.branding): the saved one, or
the Branding fields as edited when the change form is posted (brand_from_post).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.branding import (
    REDIRECT_MAX_SECONDS,
    REDIRECT_MIN_SECONDS,
    Brand,
    Font,
    brand_merge,
    validate_brand_colour,
    validate_cta_url,
)
from surveys.admin.builder_languages import editing_languages, language_name, posted_languages
from surveys.admin.builder_widgets import (
    NO_VALUE_OPS,
    OPERATOR_LABELS,
    ChoiceRowsWidget,
    ShowIfField,
    ShowIfWidget,
    normalise_choices,
)
from surveys.hosted.branding import brand_cta, brand_frame, survey_brand
from surveys.hosted.languages import words_language
from surveys.languages import is_rtl
from surveys.logic import QuestionSpec
from surveys.models import QuestionType, Survey

PREFIX = "questions"
MAX_CARDS = 500
TEXT_FIELDS = (("title", _("Title")), ("intro", _("Intro")), ("thank_you", _("Thank-you text")))


@dataclass
class Draft:
    """A survey's texts and questions as the builder shows them."""

    languages: list[str]
    texts: dict[str, dict[str, str]]
    questions: list[dict[str, Any]] = field(default_factory=list)


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return default


def _texts(data: Any, name: str, languages: list[str]) -> dict[str, str]:
    out = {}
    for code in languages:
        text = str(data.get(f"{name}_{code}", "") or "").strip()
        if text:
            out[code] = text
    return out


def brand_from_post(data: Any, survey: Survey | None) -> Brand:
    """The survey's Branding fields as posted, over its saved audience's brand. A part the form
    would refuse (a colour white text is hard to read on, a half-typed link) is left blank, and
    a logo is only shown once saved; a form without the fields (view only) has the saved brand.
    """
    if "brand_font" not in data:
        return survey_brand(survey) if survey else Brand()
    colour = str(data.get("brand_colour_1") or "").strip().lower()
    link = str(data.get("brand_cta_url") or "").strip()
    try:
        validate_brand_colour(colour)
    except ValidationError:
        colour = ""
    try:
        link = forms.URLField(assume_scheme="https", required=False).clean(link)
        validate_cta_url(link)
    except ValidationError:
        link = ""
    seconds = _int(data.get("brand_redirect_seconds"), 0)
    font = str(data.get("brand_font") or "")
    override = Survey(
        brand_logo_id=None if data.get("logo_clear") or not survey else survey.brand_logo_id,
        brand_colour=colour if data.get("brand_colour_0") else "",
        brand_font=font if font in Font.values else "",
        brand_cta_text=str(data.get("brand_cta_text") or "").strip(),
        brand_cta_url=link,
        brand_redirect_seconds=(
            seconds if REDIRECT_MIN_SECONDS <= seconds <= REDIRECT_MAX_SECONDS else None
        ),
    )
    return brand_merge(override=override, base=survey.audience if survey else override)


def draft_from_post(data: Any, survey: Survey | None) -> Draft:
    """The survey as edited on the change page, whether or not it would validate: in the
    languages ticked or typed (those valid), else the survey's."""
    languages = posted_languages(data) or editing_languages(survey.languages if survey else None)
    texts = {name: _texts(data, name, languages) for name, _label in TEXT_FIELDS}
    questions = []
    choice_rows = ChoiceRowsWidget()
    choice_rows.languages = languages
    total = min(_int(data.get(f"{PREFIX}-TOTAL_FORMS"), 0), MAX_CARDS)
    for i in range(total):
        p = f"{PREFIX}-{i}-"
        if data.get(f"{p}DELETE"):
            continue
        key = str(data.get(f"{p}key", "") or "").strip()
        label = _texts(data, f"{p}label", languages)
        if not key and not label:
            continue  # an empty new card
        try:
            show_if = ShowIfField().to_python(
                ShowIfWidget().value_from_datadict(data, None, f"{p}show_if")
            )
        except ValidationError:
            show_if = None
        scale = data.get(f"{p}scale_max")
        questions.append(
            {
                "key": key or f"#{i + 1}",
                "type": data.get(f"{p}type") or QuestionType.TEXT,
                "required": bool(data.get(f"{p}required")),
                "multiline": bool(data.get(f"{p}multiline")),
                "page": _int(data.get(f"{p}page"), 1),
                "order": _int(data.get(f"{p}order"), i),
                "label": label,
                "help": _texts(data, f"{p}help", languages),
                "choices": [
                    c
                    for c in normalise_choices(
                        choice_rows.value_from_datadict(data, None, f"{p}choices")
                    )
                    if c["value"] or c["label"]
                ],
                "scale": _int(scale, 0) or None,
                "show_if": show_if,
            }
        )
    questions.sort(key=lambda q: (q["page"], q["order"]))
    return Draft(languages=languages, texts=texts, questions=questions)


def draft_from_survey(survey: Survey) -> Draft:
    """The saved survey."""
    questions = [
        {
            "key": q.key,
            "type": q.type,
            "required": q.required,
            "multiline": q.multiline,
            "page": q.page,
            "order": q.order,
            "label": dict(q.label or {}),
            "help": dict(q.help or {}),
            "choices": normalise_choices(q.choices),
            "scale": q.scale_max,
            "show_if": q.show_if,
        }
        for q in survey.questions.order_by("page", "order", "id")
    ]
    texts = {name: dict(getattr(survey, name) or {}) for name, _label in TEXT_FIELDS}
    return Draft(languages=editing_languages(survey.languages), texts=texts, questions=questions)


# --- Translation completeness --------------------------------------------------------------


def completeness(draft: Draft) -> list[dict[str, Any]]:
    """Per survey language: texts given out of texts needed, and what is missing.

    Needed: the title, each question's label and each choice's label; an intro, thank-you or
    help text once any language has it (then every language should).
    """
    needed: list[tuple[str, Mapping[str, str]]] = [(gettext("Title"), draft.texts["title"])]
    for name, label in TEXT_FIELDS[1:]:
        if draft.texts[name]:
            needed.append((str(label), draft.texts[name]))
    for q in draft.questions:
        needed.append((gettext("“%(key)s”: label") % {"key": q["key"]}, q["label"]))
        if q["help"]:
            needed.append((gettext("“%(key)s”: help text") % {"key": q["key"]}, q["help"]))
        for choice in q["choices"]:
            needed.append(
                (
                    gettext("“%(key)s”: choice “%(value)s”")
                    % {"key": q["key"], "value": choice["value"]},
                    choice["label"],
                )
            )
    result = []
    for code in draft.languages:
        missing = [what for what, texts in needed if not str(texts.get(code, "")).strip()]
        result.append(
            {
                "code": code,
                "name": language_name(code),
                "rtl": is_rtl(code),
                "filled": len(needed) - len(missing),
                "total": len(needed),
                "missing": missing,
            }
        )
    return result


# --- Preview -------------------------------------------------------------------------------


def _in(texts: Mapping[str, str], language: str) -> tuple[str, bool]:
    """A text in `language`, and whether it is missing there."""
    text = str(texts.get(language, "")).strip()
    return text, not text


def _options(q: dict[str, Any], language: str) -> list[dict[str, Any]]:
    if q["type"] in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        return [
            {"value": c["value"], "label": _in(c["label"], language)[0] or c["value"]}
            for c in q["choices"]
        ]
    spec = QuestionSpec(
        key=q["key"],
        type=q["type"],
        page=q["page"],
        order=q["order"],
        required=q["required"],
        show_if=None,
        scale_max=q["scale"],
    )
    scale = spec.value_range()
    if scale is None:
        return []
    lo, hi = scale
    return [{"value": n, "label": str(n)} for n in range(lo, hi + 1)]


def _rule_text(show_if: Any, by_key: Mapping[str, dict[str, Any]]) -> str:
    """A display rule in words, in the admin's language, for the note under a question."""
    if not isinstance(show_if, Mapping):
        return ""
    if "all" in show_if or "any" in show_if:
        parts = [_rule_text(c, by_key) for c in show_if.get("all", show_if.get("any")) or []]
        joiner = gettext(" and ") if "all" in show_if else gettext(" or ")
        return joiner.join(p for p in parts if p)
    key, op = str(show_if.get("question", "")), show_if.get("op")
    if "field" in show_if:  # a hidden field (surveys.hidden_fields)
        key = gettext("Hidden field: %(name)s") % {"name": show_if["field"]}
    words = str(OPERATOR_LABELS.get(op, op))
    if op in NO_VALUE_OPS:
        return f"{key} {words}"
    value = show_if.get("value")
    ref = by_key.get(key)
    if ref and ref["choices"]:
        labels = {c["value"]: c["label"] for c in ref["choices"]}
        shown = labels.get(str(value), {})
        value = next(iter(shown.values()), value) if isinstance(shown, Mapping) else value
    return f"{key} {words} {value}"


def preview_html(draft: Draft, language: str, *, brand: Brand, nonce: object) -> str:
    """The survey's questions by page, as a phone shows them, with their display rules, in
    `brand` (surveys.hosted.branding.survey_brand, or brand_from_post); `nonce` is the
    request's CSP nonce, read only when the brand has CSS."""
    by_key = {q["key"]: q for q in draft.questions}
    pages: dict[int, list[dict[str, Any]]] = {}
    for q in draft.questions:
        label, label_missing = _in(q["label"], language)
        pages.setdefault(q["page"], []).append(
            {
                **q,
                "text": label,
                "text_missing": label_missing,
                "help_text": _in(q["help"], language)[0],
                "kind": "stars" if q["type"] == QuestionType.RATING else q["type"],
                "options": _options(q, language),
                "rule": _rule_text(q["show_if"], by_key),
            }
        )
    context = {
        "language": language,
        "direction": "rtl" if is_rtl(language) else "ltr",
        # The page's own words (Next, Submit) in the survey language when the project has
        # them, as the hosted pages show them.
        "words_language": words_language(language),
        "title": _in(draft.texts["title"], language),
        "intro": _in(draft.texts["intro"], language)[0],
        "thank_you": _in(draft.texts["thank_you"], language)[0],
        "pages": [pages[n] for n in sorted(pages)],
        **brand_frame(brand),
        "cta": brand_cta(brand),
        "nonce": nonce,
    }
    return render_to_string("admin/surveys/survey/preview.html", context)


def completeness_html(draft: Draft) -> str:
    return render_to_string(
        "admin/surveys/survey/includes/completeness.html",
        {"completeness": completeness(draft)},
    )
