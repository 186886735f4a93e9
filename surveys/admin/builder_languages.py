"""The builder's languages: the survey's own (any language tag), and its texts in each of them.

A survey's texts are edited in the survey's languages, not the admin's (settings.LANGUAGES).
The inputs shown are those of the survey's stored languages and of the languages posted with
the form, so a language added in one save takes its texts in the same save, and a form shown
again with errors keeps every text typed.

Texts in a language taken off the survey are kept: they travel with the form as hidden inputs
and are saved again, so adding the language back brings its translations back. Respondents
only ever see the survey's languages (surveys.hosted.languages).
"""

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from surveys.languages import is_rtl, name_in, normalize, validate_language_code

# Offered as ticks beside the survey's own languages; any other is typed as a tag.
COMMON_LANGUAGES = (
    "tr",
    "en",
    "de",
    "fr",
    "es",
    "it",
    "nl",
    "pt",
    "ru",
    "uk",
    "pl",
    "ro",
    "bg",
    "el",
    "az",
    "ku",
    "ar",
    "fa",
    "he",
    "ur",
    "zh",
    "ja",
)
OTHER_SUFFIX = "_other"
TAG_SEPARATORS = re.compile(r"[\s,;]+")


def admin_language_codes() -> list[str]:
    """The admin's languages: the texts of a form that was given no survey languages."""
    return [code for code, _name in settings.LANGUAGES]


def language_name(code: str) -> str:
    """The language's name in the admin's language ("Almanca" for de in Turkish)."""
    return name_in(code, get_language() or settings.LANGUAGE_CODE)


def by_name(code: str) -> tuple[str, str]:
    """A sort key: the language's name without accents (Çince among the C's), then as is."""
    name = language_name(code)
    folded = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in folded if not unicodedata.combining(c)), name


def tag_label(code: str) -> str:
    """The short tag shown beside an input: DE, AR, PT-BR, KU-Arab."""
    base, _dash, rest = code.partition("-")
    return base.upper() + (f"-{rest}" if rest else "")


def _getlist(data: Any, name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return [str(v) for v in data.getlist(name)]
    value = data.get(name)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def posted_tags(data: Any, name: str = "languages") -> list[str]:
    """The languages a form posts, as typed: its ticked ones, then its typed ones."""
    typed = " ".join(_getlist(data, f"{name}{OTHER_SUFFIX}"))
    values = [v.strip() for v in _getlist(data, name)] + TAG_SEPARATORS.split(typed)
    return _unique(v for v in values if v)


def posted_languages(data: Any, name: str = "languages") -> list[str]:
    """The valid languages a form posts, in their standard spelling, once each."""
    return _unique(tag for tag in map(normalize, posted_tags(data, name)) if tag)


def editing_languages(stored: Iterable[str] | None, data: Any = None) -> list[str]:
    """The languages the builder shows inputs for: the survey's stored ones, then those
    posted (a language added in this save)."""
    codes = [tag for tag in map(normalize, stored or []) if tag]
    if data is not None:
        codes += posted_languages(data)
    return _unique(codes) or admin_language_codes()


def posted_text_languages(data: Any) -> set[str]:
    """Every language tag that ends a posted field's name (title_de, questions-0-label_ar):
    the texts to read back, including those of languages no longer shown."""
    found: set[str] = set()
    for key in data or ():
        _head, sep, tail = str(key).rpartition("_")
        if sep and normalize(tail) == tail:
            found.add(tail)
    return found


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else {}
        except ValueError:
            value = {}
    if not isinstance(value, Mapping):
        return {}
    return {str(code): str(text) for code, text in value.items() if text is not None}


def _direction(code: str) -> dict[str, str]:
    return {"dir": "rtl"} if is_rtl(code) else {}


# --- The survey's languages ----------------------------------------------------------------


class LanguagesWidget(forms.Widget):
    """Ticks for the survey's languages and common ones, named in the admin's language, and a
    text input for any other language tag (<name>_other)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        # The survey's languages (stored and posted), ticked or not, come first.
        self.survey_languages: list[str] = []

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        return posted_tags(data, name)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False  # no tick at all is an answer (no language), not an omission

    def id_for_label(self, id_: str) -> str:
        return f"{id_}{OTHER_SUFFIX}" if id_ else ""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        typed = [str(v) for v in (value if isinstance(value, list | tuple) else [])]
        chosen = [tag for tag in map(normalize, typed) if tag]
        common = sorted(COMMON_LANGUAGES, key=by_name)
        ticks = _unique([*self.survey_languages, *chosen, *common])
        others = [v for v in typed if normalize(v) is None]  # shown again to be corrected
        base_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        items = format_html_join(
            "",
            '<li><label data-lang="{}" data-rtl="{}"><input type="checkbox" name="{}" value="{}" '
            'id="{}_{}"{}> {} <span class="xm-code">{}</span></label></li>',
            (
                (
                    code,
                    "1" if is_rtl(code) else "",
                    name,
                    code,
                    base_id,
                    index,
                    mark_safe(" checked") if code in chosen else "",
                    language_name(code),
                    code,
                )
                for index, code in enumerate(ticks)
            ),
        )
        return format_html(
            '<div class="xm-languages" role="group" aria-label="{}">'
            '<ul class="xm-language-ticks">{}</ul>'
            '<p class="xm-language-other"><label for="{}{}">{}</label> '
            '<input type="text" name="{}{}" id="{}{}" value="{}" size="24" autocomplete="off" '
            'spellcheck="false" aria-describedby="{}{}_help"></p>'
            '<p class="help" id="{}{}_help">{}</p></div>',
            _("Survey languages"),
            items,
            base_id,
            OTHER_SUFFIX,
            _("Other languages"),
            name,
            OTHER_SUFFIX,
            base_id,
            OTHER_SUFFIX,
            ", ".join(others),
            base_id,
            OTHER_SUFFIX,
            base_id,
            OTHER_SUFFIX,
            _(
                "Language tags separated by commas, e.g. pt-BR, ku-Arab, sr-Latn. Texts in a "
                "language you take off are kept and come back when you add it again."
            ),
        )


class LanguagesField(forms.Field):
    """A survey's languages: valid language tags in their standard spelling, once each."""

    widget = LanguagesWidget
    default_error_messages = {"required": _("Choose at least one language for the survey.")}

    def to_python(self, value: Any) -> list[str]:
        typed = [str(v).strip() for v in (value if isinstance(value, list | tuple) else [])]
        codes: list[str] = []
        errors: list[ValidationError] = []
        for text in typed:
            if not text:
                continue
            tag = normalize(text)
            if tag is None:
                try:
                    validate_language_code(text)
                except ValidationError as error:
                    errors.extend(error.error_list)
                continue
            codes.append(tag)
        if errors:
            raise ValidationError(errors)
        return _unique(codes)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except ValidationError:
            return True


# --- Texts per language --------------------------------------------------------------------


class TranslatedWidget(forms.Widget):
    """One input per survey language, named <field>_<code>; texts in other languages kept in
    hidden inputs. The form sets `languages` (shown) and `readable` (also read back)."""

    def __init__(self, *, multiline: bool = False, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.multiline = multiline
        self.languages: list[str] = admin_language_codes()
        self.readable: set[str] = set()

    def value_from_datadict(self, data: Any, files: Any, name: str) -> dict[str, str]:
        codes = _unique([*self.languages, *sorted(self.readable)])
        return {code: str(data[f"{name}_{code}"]) for code in codes if f"{name}_{code}" in data}

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return not any(f"{name}_{code}" in data for code in self.languages)

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_{self.languages[0]}" if id_ and self.languages else id_

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        texts = _texts(value)
        base = self.build_attrs(self.attrs, attrs)
        base_id = base.pop("id", "")
        rows = []
        for code in self.languages:
            inner_attrs = {
                **base,
                "lang": code,
                "placeholder": language_name(code),
                **_direction(code),
            }
            if base_id:
                inner_attrs["id"] = f"{base_id}_{code}"
            inner: forms.Widget = (
                forms.Textarea(attrs={"rows": 2, "cols": 60})
                if self.multiline
                else forms.TextInput(attrs={"size": 50})
            )
            rows.append(
                format_html(
                    '<div class="xm-translation" data-lang="{}"><label class="xm-lang" for="{}" '
                    'title="{}">{}</label>{}</div>',
                    code,
                    inner_attrs.get("id", ""),
                    language_name(code),
                    tag_label(code),
                    inner.render(f"{name}_{code}", texts.get(code, ""), inner_attrs, renderer),
                )
            )
        kept = format_html_join(
            "",
            '<input type="hidden" name="{}_{}" value="{}" class="xm-kept-text" data-lang="{}">',
            (
                (name, code, text, code)
                for code, text in texts.items()
                if code not in self.languages and text.strip()
            ),
        )
        return format_html(
            '<div class="xm-translations" data-name="{}" data-multiline="{}">{}{}</div>',
            name,
            "1" if self.multiline else "",
            mark_safe("".join(rows)),  # noqa: S308 - each row built with format_html
            kept,
        )


class TranslatedField(forms.Field):
    """A {"tr": …, "de": …} dict edited as one input per language; empty languages dropped."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", TranslatedWidget(multiline=multiline))
        super().__init__(**kwargs)

    def set_languages(self, languages: list[str], readable: set[str]) -> None:
        self.widget.languages = list(languages)  # type: ignore[attr-defined]
        self.widget.readable = set(readable)  # type: ignore[attr-defined]

    def to_python(self, value: Any) -> dict[str, str]:
        texts = _texts(value)
        shown = self.widget.languages  # type: ignore[attr-defined]
        order = _unique([*(c for c in shown if c in texts), *texts])
        return {code: texts[code].strip() for code in order if texts[code].strip()}

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial) != self.to_python(data)
