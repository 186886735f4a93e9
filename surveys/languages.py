"""Survey languages: any IETF language tag, checked, with its own name and writing direction.

A survey may be written in any language (de, ar, ru, ku, ku-Arab …), not only in those the
admin is translated into (settings.LANGUAGES). langcodes knows the registered subtags, each
language's usual script and its name in itself, so the platform keeps no table of its own.
"""

import functools

import langcodes
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Scripts written right to left (ISO 15924): Arabic, Hebrew, Thaana, Syriac, N'Ko, Adlam,
# Hanifi Rohingya, Mandaic, Samaritan.
RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr"})
CODE_MAX_LENGTH = 8  # Survey.default_language's column: "ku-Arab", "pt-BR", "sr-Latn" fit


@functools.lru_cache(maxsize=256)
def normalize(code: str) -> str | None:
    """The standard spelling of a valid language tag ("PT_br" → "pt-BR"), None when invalid."""
    text = str(code or "").strip().replace("_", "-")
    if not text or len(text) > CODE_MAX_LENGTH:
        return None
    try:
        if not langcodes.tag_is_valid(text):
            return None
        language = langcodes.Language.get(text)
    except (ValueError, LookupError):
        return None
    if not language.is_valid() or not language.language:
        return None
    return str(language.to_tag())


def validate_language_code(code: str) -> None:
    """Refuse a text that is not a language tag, or one not in its standard spelling."""
    tag = normalize(code)
    if tag is None:
        raise ValidationError(
            _(
                "“%(code)s” is not a language code. Use an IETF language tag such as "
                "tr, en, de, ar, ru or ku-Arab (at most 8 characters)."
            ),
            params={"code": str(code)[:40]},
            code="invalid_language",
        )
    if tag != code:
        raise ValidationError(
            _("Write the language code “%(code)s” as “%(tag)s”."),
            params={"code": str(code), "tag": tag},
            code="language_spelling",
        )


def validate_language_codes(codes: object) -> None:
    """A survey's languages: a non-empty list of distinct language tags."""
    if not isinstance(codes, list) or not codes:
        raise ValidationError(
            _('Give the survey\'s languages as a list of language codes, e.g. ["tr", "en"].'),
            code="invalid_languages",
        )
    seen: set[str] = set()
    for code in codes:
        validate_language_code(code)
        tag = str(code)
        if tag in seen:
            raise ValidationError(
                _("The language “%(code)s” is listed twice."),
                params={"code": tag},
                code="duplicate_language",
            )
        seen.add(tag)


@functools.lru_cache(maxsize=256)
def is_rtl(code: str) -> bool:
    """Whether `code` is written right to left (its script, given or usual, is)."""
    tag = normalize(code)
    if tag is None:
        return False
    return langcodes.Language.get(tag).maximize().script in RTL_SCRIPTS


@functools.lru_cache(maxsize=256)
def own_name(code: str) -> str:
    """The language's name in itself ("Deutsch", "العربية"), for a language switch."""
    tag = normalize(code)
    if tag is None:
        return str(code)
    try:
        name = langcodes.Language.get(tag).display_name(tag)
    except (ImportError, LookupError):  # the names' data (language_data) is optional
        return tag
    return name[:1].upper() + name[1:] if name else tag


@functools.lru_cache(maxsize=1024)
def name_in(code: str, language: str) -> str:
    """The language's name in another language ("Almanca": de in Turkish), for the admin."""
    tag = normalize(code)
    if tag is None:
        return str(code)
    try:
        name = langcodes.Language.get(tag).display_name(normalize(language) or "en")
    except (ImportError, LookupError):
        return tag
    return name[:1].upper() + name[1:] if name else tag
