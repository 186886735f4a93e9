"""Names in several languages: a `name` plus `name_translations` {language: text}.

Audiences, journeys and surveys keep their `name` (the fallback, and what search and slugs
use) and may name themselves in each admin language; `translated_name` picks the reader's.
In the admin the translations are one text box per language (settings.LANGUAGES), never JSON.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

MAX_LENGTH = 200


def translated_name(name: str, translations: dict[str, str] | None) -> str:
    """The name in the active language, else `name`."""
    if translations:
        language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
        text = translations.get(language)
        if isinstance(text, str) and text.strip():
            return text
    return name


class TranslationsWidget(forms.MultiWidget):
    """One text input per admin language, each labelled with its language."""

    template_name = "core/widgets/translations.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {code: forms.TextInput(attrs={"maxlength": MAX_LENGTH}) for code, _n in _languages()},
            attrs,
        )

    def decompress(self, value: Any) -> list[str | None]:
        value = value if isinstance(value, dict) else {}
        return [value.get(code) for code, _n in _languages()]

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        for sub, (_code, language) in zip(
            context["widget"]["subwidgets"], _languages(), strict=True
        ):
            sub["language"] = language
        return context


class TranslationsFormField(forms.MultiValueField):
    """The names in each admin language; empty ones are left out (the name applies)."""

    widget = TranslationsWidget

    def __init__(self, **kwargs: Any) -> None:
        for key in ("encoder", "decoder", "max_length", "required"):
            kwargs.pop(key, None)
        fields = tuple(
            forms.CharField(required=False, max_length=MAX_LENGTH) for _c in _languages()
        )
        super().__init__(fields=fields, require_all_fields=False, required=False, **kwargs)

    def compress(self, data_list: list[str | None]) -> dict[str, str]:
        return {
            code: text.strip()
            for (code, _n), text in zip(_languages(), data_list or [], strict=False)
            if text and text.strip()
        }

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.compress(self.clean(data)) != (initial or {})
        except ValidationError:
            return True


class TranslationsField(models.JSONField):
    """{language code: text} beside a name, edited as one box per admin language."""

    def formfield(self, **kwargs: Any) -> Any:  # type: ignore[override]
        return super(models.JSONField, self).formfield(
            **{"form_class": TranslationsFormField, **kwargs}
        )

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        codes = {code for code, _n in settings.LANGUAGES}
        if not isinstance(value, dict) or any(
            k not in codes or not isinstance(v, str) or len(v) > MAX_LENGTH
            for k, v in value.items()
        ):
            raise ValidationError(
                _("Give the name per language as text of at most %(n)d characters.")
                % {"n": MAX_LENGTH}
            )


def _languages() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES]
