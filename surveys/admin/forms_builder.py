"""Admin forms for the survey builder: per-language texts, choice lines, display logic."""

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.renderers import get_default_renderer
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from surveys.catalog import template_choices
from surveys.logic import QuestionSpec, logic_errors
from surveys.models import (
    Question,
    QuestionType,
    Response,
    Survey,
)

CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
SCALE_TYPES = frozenset({QuestionType.CES, QuestionType.RATING})
CES_SCALES = (5, 7)
RATING_SCALE = (2, 10)


def language_codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


# --- Per-language texts --------------------------------------------------------------------


class TranslatedWidget(forms.MultiWidget):
    """One input per language in settings.LANGUAGES, named <field>_<code>."""

    def __init__(self, *, multiline: bool = False, attrs: dict[str, Any] | None = None) -> None:
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {}
        for code, name in settings.LANGUAGES:
            inner: forms.Widget = (
                forms.Textarea(attrs={"rows": 2, "cols": 60})
                if multiline
                else forms.TextInput(attrs={"size": 50})
            )
            inner.attrs.update({"lang": code, "placeholder": str(name)})
            widgets[code] = inner
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[str]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                value = {}
        value = value if isinstance(value, Mapping) else {}
        return [str(value.get(code, "")) for code in language_codes()]

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        # Each input gets a visible language tag, so editors know which text goes where.
        context = self.get_context(name, value, attrs)
        renderer = renderer or get_default_renderer()
        rows = [
            format_html(
                '<div class="xm-translation"><label class="xm-lang" for="{}" title="{}">{}</label>'
                "{}</div>",
                sub["attrs"].get("id", ""),
                lang_name,
                code.upper(),
                mark_safe(renderer.render(sub["template_name"], {"widget": sub})),  # noqa: S308
            )
            for sub, (code, lang_name) in zip(
                context["widget"]["subwidgets"], settings.LANGUAGES, strict=True
            )
        ]
        return format_html('<div class="xm-translations">{}</div>', mark_safe("".join(rows)))  # noqa: S308


class TranslatedField(forms.MultiValueField):
    """A {"en": …, "tr": …} dict edited as one input per language; empty languages dropped."""

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        fields = [forms.CharField(required=False, strip=True) for _code in language_codes()]
        kwargs.setdefault("required", False)
        super().__init__(
            fields,
            widget=TranslatedWidget(multiline=multiline),
            require_all_fields=False,
            **kwargs,
        )

    def compress(self, data_list: list[str]) -> dict[str, str]:
        return {
            code: text
            for code, text in zip(language_codes(), data_list or [], strict=False)
            if text
        }


def missing_languages(texts: Any, languages: list[str]) -> list[str]:
    """The codes of `languages` that `texts` has no non-empty text for."""
    texts = texts if isinstance(texts, Mapping) else {}
    return [code for code in languages if not str(texts.get(code, "")).strip()]


# --- Choices as text lines -----------------------------------------------------------------


class ChoicesField(forms.CharField):
    """Choices edited one per line as `value | English label | Türkçe etiket`."""

    widget = forms.Textarea(attrs={"rows": 5, "cols": 60})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            _(
                "One choice per line: value | English label | Türkçe etiket, "
                "e.g. price | Price | Fiyat"
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value  # the submitted text, shown back as typed
        if not isinstance(value, list):
            return ""
        lines = []
        for item in value:
            if not isinstance(item, Mapping):
                continue
            labels = item.get("label") or {}
            parts = [str(item.get("value", ""))]
            parts += [str(labels.get(code, "")) for code in language_codes()]
            lines.append(" | ".join(parts))
        return "\n".join(lines)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        choices: list[dict[str, Any]] = []
        seen: set[str] = set()
        codes = language_codes()
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            parts = [part.strip() for part in line.split("|")]
            if len(parts) > len(codes) + 1:
                raise ValidationError(
                    _("Line %(n)s has more than %(k)s parts; write value | %(labels)s."),
                    params={"n": number, "k": len(codes) + 1, "labels": " | ".join(codes)},
                )
            value_part = parts[0]
            if not value_part:
                raise ValidationError(
                    _("Line %(n)s has no value before the first “|”."), params={"n": number}
                )
            if value_part in seen:
                raise ValidationError(
                    _("The choice value “%(value)s” appears twice."), params={"value": value_part}
                )
            seen.add(value_part)
            labels = {code: label for code, label in zip(codes, parts[1:], strict=False) if label}
            choices.append({"value": value_part, "label": labels})
        return choices


# --- Display logic -------------------------------------------------------------------------

SHOW_IF_HELP = _(
    "Leave empty to always show. Otherwise JSON referring to a question on an earlier page: "
    '{"question": "nps", "op": "lte", "value": 6}. Operators: eq, neq, lt, lte, gt, gte, in, '
    "not_in (value is a list), contains (multiple choice), answered, not_answered. Combine with "
    '{"all": [ … ]} or {"any": [ … ]}.'
)


class ShowIfField(forms.JSONField):
    """Display logic as JSON text: a condition object, or empty for always shown."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", SHOW_IF_HELP)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 40}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""  # "always shown", not the JSON literal null
        return super().prepare_value(value)

    def to_python(self, value: Any) -> Any:
        converted = super().to_python(value)
        if converted in (None, {}, [], ""):
            return None
        if not isinstance(converted, dict):
            raise ValidationError(
                _(
                    'Display logic must be a JSON object such as {"question": "nps", "op": "lte", '
                    '"value": 6}.'
                ),
                code="invalid",
            )
        return converted


# --- Survey and question forms -------------------------------------------------------------


class SurveyAdminForm(forms.ModelForm):
    """The survey's own fields, with per-language texts and languages as checkboxes."""

    title = TranslatedField(
        label=capfirst(_("title")), help_text=_("Shown to respondents, per language.")
    )
    intro = TranslatedField(label=capfirst(_("intro")), multiline=True)
    thank_you = TranslatedField(label=capfirst(_("thank-you text")), multiline=True)
    languages = forms.MultipleChoiceField(
        label=capfirst(_("languages")),
        choices=settings.LANGUAGES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Every question needs a label in each of these languages."),
    )
    default_language = forms.ChoiceField(
        label=capfirst(_("default language")), choices=settings.LANGUAGES
    )

    class Meta:
        model = Survey
        fields = [
            "name",
            "audience",
            "touchpoint",
            "status",
            "anonymous",
            "reporting_period",
            "priority_class",
            "languages",
            "default_language",
            "title",
            "intro",
            "thank_you",
            "opens_at",
            "closes_at",
            "response_limit",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        languages = cleaned.get("languages") or []
        default = cleaned.get("default_language")
        if languages and default and default not in languages:
            self.add_error(
                "default_language", _("The default language must be one of the survey languages.")
            )
        missing = missing_languages(cleaned.get("title"), languages)
        if languages and missing:
            self.add_error(
                "title",
                _("Give the title in every survey language (missing: %(codes)s).")
                % {"codes": ", ".join(missing)},
            )
        touchpoint, audience = cleaned.get("touchpoint"), cleaned.get("audience")
        if touchpoint and audience and touchpoint.stage.journey.audience_id != audience.pk:
            self.add_error(
                "touchpoint", _("Choose a touchpoint on one of this audience's journeys.")
            )
        if (
            audience is not None
            and audience.kind == AudienceKind.EMPLOYEE
            and not cleaned.get("anonymous")
        ):
            self.add_error(
                "anonymous",
                _("Surveys of an employee audience are always anonymous; tick “anonymous”."),
            )
        if (
            self.instance.pk
            and "anonymous" in self.changed_data
            and Response.objects.filter(survey=self.instance).exists()
        ):
            # Existing responses were stored under the old rule: switching would either leave
            # "anonymous" answers linked to people or promise links that were never kept.
            self.add_error(
                "anonymous",
                _("This survey already has responses; copy it to change whether it is anonymous."),
            )
        opens, closes = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("The survey must close after it opens."))
        return cleaned


class QuestionInlineForm(forms.ModelForm):
    """One question row of the builder."""

    label = TranslatedField(label=capfirst(_("label")))
    help = TranslatedField(label=capfirst(_("help text")))
    choices = ChoicesField(label=capfirst(_("choices")))
    show_if = ShowIfField(label=capfirst(_("display logic")))

    class Meta:
        model = Question
        fields = [
            "order",
            "page",
            "key",
            "type",
            "required",
            "scale_max",
            "multiline",
            "label",
            "help",
            "choices",
            "show_if",
        ]
        widgets = {
            "order": forms.NumberInput(attrs={"style": "width: 4em"}),
            "page": forms.NumberInput(attrs={"style": "width: 4em"}),
            "scale_max": forms.NumberInput(attrs={"style": "width: 4em"}),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        qtype = cleaned.get("type")
        scale = cleaned.get("scale_max")
        choices = cleaned.get("choices") or []
        if qtype in CHOICE_TYPES and "choices" in cleaned and len(choices) < 2:
            self.add_error("choices", _("A choice question needs at least two choices."))
        if qtype and qtype not in CHOICE_TYPES and choices:
            self.add_error("choices", _("Only single and multiple choice questions take choices."))
        if qtype == QuestionType.CES and scale is not None and scale not in CES_SCALES:
            self.add_error("scale_max", _("A CES scale has 5 or 7 points."))
        if qtype == QuestionType.RATING and scale is not None:
            lo, hi = RATING_SCALE
            if not lo <= scale <= hi:
                self.add_error("scale_max", _("A rating has from 2 to 10 stars."))
        if qtype and qtype not in SCALE_TYPES and scale is not None:
            self.add_error("scale_max", _("Only CES and rating questions take a scale maximum."))
        if qtype and qtype != QuestionType.TEXT and cleaned.get("multiline"):
            self.add_error("multiline", _("Only free-text questions can be long text."))
        return cleaned


class QuestionInlineFormSet(forms.BaseInlineFormSet):
    """Checks that need every row: unique keys, labels per language, display logic.

    The logic is checked over the submitted rows (changed and new ones, without those marked
    for deletion), so a survey is never saved with a condition that cannot work.
    """

    def _kept_forms(self) -> list[forms.ModelForm]:
        kept = []
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue  # an untouched extra row
            if self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            kept.append(form)
        return kept

    def clean(self) -> None:
        kept = self._kept_forms()
        # Before the model formset's own unique check, so the row gets a specific message.
        by_key: dict[str, forms.ModelForm] = {}
        for form in kept:
            key = form.cleaned_data.get("key")
            if not key:
                continue
            if key in by_key:
                form.add_error("key", _("Another question already uses the key “%s”.") % key)
                continue
            by_key[key] = form
        super().clean()
        if any(form.errors for form in kept):
            return  # row errors first; the cross-row checks need every row's values
        languages = list(getattr(self.instance, "languages", None) or language_codes())
        for form in kept:
            missing = missing_languages(form.cleaned_data.get("label"), languages)
            if missing:
                form.add_error(
                    "label",
                    _("Give the label in every survey language (missing: %(codes)s).")
                    % {"codes": ", ".join(missing)},
                )
            for item in form.cleaned_data.get("choices") or []:
                absent = missing_languages(item.get("label"), languages)
                if absent:
                    form.add_error(
                        "choices",
                        _("The choice “%(value)s” needs a label in: %(codes)s.")
                        % {"value": item["value"], "codes": ", ".join(absent)},
                    )
        if any(form.errors for form in kept):
            return
        specs = [self._spec(form) for form in kept]
        for key, problems in logic_errors(specs).items():
            for problem in problems:
                by_key[key].add_error("show_if", problem)
        if any(form.errors for form in kept):
            raise ValidationError(_("Fix the display logic of the questions marked below."))

    @staticmethod
    def _spec(form: forms.ModelForm) -> QuestionSpec:
        data = form.cleaned_data
        return QuestionSpec(
            key=data["key"],
            type=data["type"],
            page=data["page"],
            order=data["order"],
            required=data.get("required", False),
            show_if=data.get("show_if"),
            choices=tuple(str(c.get("value")) for c in data.get("choices") or []),
            scale_max=data.get("scale_max"),
        )


# --- New survey from a template ------------------------------------------------------------


class TouchpointChoiceField(forms.ModelChoiceField):
    """Touchpoints named with their audience and stage: names repeat across journeys."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.stage.journey.audience} › {obj.stage} › {obj.name}"


class FromTemplateForm(forms.Form):
    """Pick a catalogue template and the audience (and optionally touchpoint) it is for."""

    template = forms.ChoiceField(label=capfirst(_("template")), choices=template_choices)
    audience = forms.ModelChoiceField(
        label=capfirst(_("audience")), queryset=Audience.objects.all()
    )
    name = forms.CharField(
        label=capfirst(_("name")),
        max_length=200,
        required=False,
        help_text=_("Leave empty to name it after the template and the audience."),
    )
    touchpoint = TouchpointChoiceField(
        label=capfirst(_("touchpoint")),
        queryset=Touchpoint.objects.select_related("stage__journey__audience"),
        required=False,
        help_text=_("For transactional surveys: the moment the survey is about."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        touchpoint, audience = cleaned.get("touchpoint"), cleaned.get("audience")
        if touchpoint and audience and touchpoint.stage.journey.audience_id != audience.pk:
            self.add_error(
                "touchpoint", _("Choose a touchpoint on one of this audience's journeys.")
            )
        return cleaned
