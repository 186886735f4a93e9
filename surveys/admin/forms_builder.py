"""Admin forms for the survey builder: per-language texts, choice rows, "show when" rules."""

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from audiences.forms_brand import BRAND_FIELDS, BrandModelForm
from audiences.models import Audience, AudienceKind
from journeys.models import Touchpoint
from surveys.admin.builder_languages import (
    COMMON_LANGUAGES,
    LanguagesField,
    TranslatedField,
    by_name,
    editing_languages,
    language_name,
    posted_text_languages,
)
from surveys.admin.builder_widgets import (
    NO_VALUE_OPS,
    OPERATOR_LABELS,
    OPS_BY_TYPE,
    ChoiceRowsField,
    ShowIfField,
)
from surveys.catalog import template_choices
from surveys.hidden_fields import field_errors
from surveys.logic import QuestionSpec, logic_errors
from surveys.models import (
    Question,
    QuestionType,
    Response,
    Survey,
)
from surveys.services.authoring import validate_survey
from surveys.validation import INTEGER

QUESTION_PATH = re.compile(r"questions\[(?P<index>\d+)\](?:\.(?P<field>\w+))?")
AUTHORING_FIELDS = {"scale": "scale_max", "": None}
AUTHORING_FIELDS.update(
    (name, name)
    for name in ("key", "type", "required", "page", "order", "label", "help", "choices")
)
AUTHORING_FIELDS.update(show_if="show_if", multiline="multiline")
CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
SCALE_TYPES = frozenset({QuestionType.CES, QuestionType.RATING})
CES_SCALES = (5, 7)
RATING_SCALE = (2, 10)


def missing_languages(texts: Any, languages: list[str]) -> list[str]:
    """The codes of `languages` that `texts` has no non-empty text for."""
    texts = texts if isinstance(texts, Mapping) else {}
    return [code for code in languages if not str(texts.get(code, "")).strip()]


# --- Survey and question forms -------------------------------------------------------------


class SurveyAdminForm(BrandModelForm):
    """The survey's own fields: its languages (any language tag) and its texts in each of
    them (builder_languages), and the brand that overrides its audience's
    (audiences.branding)."""

    inherit_label = _("The audience's")

    title = TranslatedField(
        label=capfirst(_("title")), help_text=_("Shown to respondents, per language.")
    )
    intro = TranslatedField(label=capfirst(_("intro")), multiline=True)
    thank_you = TranslatedField(label=capfirst(_("thank-you text")), multiline=True)
    languages = LanguagesField(
        label=capfirst(_("languages")),
        help_text=_("Every question needs a label in each of these languages."),
    )
    default_language = forms.ChoiceField(label=capfirst(_("default language")))
    hidden_fields = forms.CharField(
        label=capfirst(_("hidden fields")),
        required=False,
        help_text=_(
            "Names separated by commas, e.g. order_id, store. Invitations (the API's data, a "
            "trigger's event attributes) and signed public links give their values; questions "
            "can show them as {order_id} and display logic can test them."
        ),
        widget=forms.TextInput(attrs={"size": 60, "autocomplete": "off"}),
    )

    class Meta:
        model = Survey
        fields = [
            *BRAND_FIELDS,
            "name",
            "name_translations",
            "audience",
            "touchpoint",
            "status",
            "anonymous",
            "reporting_period",
            "priority_class",
            "presentation",
            "languages",
            "default_language",
            "title",
            "intro",
            "thank_you",
            "opens_at",
            "closes_at",
            "response_limit",
            "hidden_fields",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["hidden_fields"] = ", ".join(self.instance.hidden_fields or [])
        data = self.data if self.is_bound else None
        self.survey_languages = editing_languages(self.instance.languages, data)
        readable = posted_text_languages(data)
        for name in ("title", "intro", "thank_you"):
            self.fields[name].set_languages(self.survey_languages, readable)  # type: ignore[attr-defined]
        self.fields["languages"].widget.survey_languages = self.survey_languages  # type: ignore[attr-defined]
        offered = [*self.survey_languages, *sorted(COMMON_LANGUAGES, key=by_name)]
        self.fields["default_language"].choices = [  # type: ignore[attr-defined]
            (code, f"{language_name(code)} ({code})") for code in dict.fromkeys(offered)
        ]
        if "presentation" in self.fields:
            self.fields["presentation"].required = False

    def clean_presentation(self) -> str:
        """A form that leaves the presentation out (older scripts, the template form) keeps
        the survey's."""
        chosen = self.cleaned_data.get("presentation")
        return chosen or self.instance.presentation

    def clean_hidden_fields(self) -> list[str]:
        text = self.cleaned_data.get("hidden_fields") or ""
        return [name for name in re.split(r"[\s,]+", str(text)) if name]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        names = cleaned.get("hidden_fields")
        if names is not None:
            keys = (
                self.instance.questions.filter(retired_in__isnull=True).values_list(
                    "key", flat=True
                )
                if self.instance.pk
                else []
            )
            for message in field_errors(
                names, question_keys=keys, anonymous=bool(cleaned.get("anonymous"))
            ):
                self.add_error("hidden_fields", message)
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
    """One question card of the builder."""

    label = TranslatedField(label=capfirst(_("label")))
    help = TranslatedField(label=capfirst(_("help text")))
    choices = ChoiceRowsField(label=capfirst(_("choices")))
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
            "order": forms.NumberInput(attrs={"class": "xm-order-input", "min": 0}),
            "page": forms.NumberInput(attrs={"class": "xm-page-input", "min": 1}),
            "scale_max": forms.NumberInput(attrs={"style": "width: 4em"}),
            "key": forms.TextInput(attrs={"class": "xm-key", "size": 16}),
            "type": forms.Select(attrs={"class": "xm-type"}),
        }

    def has_changed(self) -> bool:
        # A new card discarded in the page posts nothing at all: it is an untouched card.
        posted = f"{self.prefix}-"
        if self.is_bound and not any(name.startswith(posted) for name in self.data):
            return False
        return super().has_changed()

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
    """Checks that need every card: unique keys, labels per language, display logic.

    The logic is checked over the submitted cards (changed and new ones, without those marked
    for deletion), so a survey is never saved with a condition that cannot work.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else None
        # The survey form has set the instance's languages to those posted, when valid.
        self.survey_languages = editing_languages(self.instance.languages, data)
        self._readable = posted_text_languages(data)

    def _construct_form(self, i: int, **kwargs: Any) -> forms.ModelForm:
        form = super()._construct_form(i, **kwargs)
        self._offer_questions(form)
        if not self.is_bound and i >= self.initial_form_count() and self._saved_questions:
            # A new card goes at the end of the last page, not back on page 1.
            last_page = self._saved_questions[-1].page
            last_order = max(q.order for q in self._saved_questions)
            form.initial.update(page=last_page, order=last_order + 1)
        return form

    @property
    def empty_form(self) -> forms.ModelForm:
        form = super().empty_form
        self._offer_questions(form)
        return form

    def _offer_questions(self, form: forms.ModelForm) -> None:
        """The card's texts in the survey's languages; the questions a "show when" condition
        may name: saved ones on earlier pages."""
        for name in ("label", "help"):
            form.fields[name].set_languages(self.survey_languages, self._readable)  # type: ignore[attr-defined]
        choices = form.fields["choices"].widget
        choices.languages, choices.readable = self.survey_languages, self._readable  # type: ignore[attr-defined]
        if not hasattr(self, "_saved_questions"):
            saved = self.instance.questions.all() if self.instance.pk else []
            self._saved_questions = sorted(saved, key=lambda q: (q.page, q.order, q.pk))
        own = form.instance if form.instance.pk else None
        form.fields["show_if"].widget.fields = list(self.instance.hidden_fields or [])
        form.fields["show_if"].widget.questions = [
            (q.key, question_text(q.key, q.label))
            for q in self._saved_questions
            if own is None or q.page < own.page
        ]

    def _kept_forms(self) -> list[forms.ModelForm]:
        kept = []
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue  # an untouched new card
            if self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            kept.append(form)
        return kept

    def clean(self) -> None:
        kept = self._kept_forms()
        # Before the model formset's own unique check, so the card gets a specific message.
        by_key: dict[str, forms.ModelForm] = {}
        for form in kept:
            key = form.cleaned_data.get("key")
            if not key:
                continue
            if key in by_key:
                form.add_error("key", _("Another question already uses the key “%s”.") % key)
                continue
            by_key[key] = form
            if key in (self.instance.hidden_fields or []):
                form.add_error(
                    "key", _("“%s” is a hidden field of this survey; choose another key.") % key
                )
        super().clean()
        if any(form.errors for form in kept):
            return  # card errors first; the cross-card checks need every card's values
        languages = list(self.instance.languages or self.survey_languages)
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
        for key, problems in rule_errors(specs).items():
            for problem in problems:
                by_key[key].add_error("show_if", problem)
        if not any(form.errors for form in kept):
            for key, problems in logic_errors(specs, self.instance.hidden_fields or []).items():
                for problem in problems:
                    by_key[key].add_error("show_if", problem)
        if any(form.errors for form in kept):
            raise ValidationError(_("Fix the display logic of the questions marked below."))
        self._check_with_authoring(kept)

    def question_dicts(self) -> list[dict[str, Any]]:
        """The cards to keep, in the authoring service's shape (the API's), in page order."""
        return [self._as_question(form) for form in self._kept_forms()]

    @staticmethod
    def _as_question(form: forms.ModelForm) -> dict[str, Any]:
        data = form.cleaned_data
        return {
            "key": data["key"],
            "type": data["type"],
            "required": bool(data.get("required")),
            "page": data["page"],
            "order": data["order"],
            "label": data.get("label") or {},
            "help": data.get("help") or {},
            "choices": data.get("choices") or [],
            "scale": data.get("scale_max"),
            "multiline": bool(data.get("multiline")),
            "show_if": data.get("show_if"),
        }

    def _check_with_authoring(self, kept: list[forms.ModelForm]) -> None:
        """The authoring service's checks, which the API applies too: versions refuse a type or
        scale change of a question with answers. Its messages go on the card they are about."""
        survey = self.instance if self.instance.pk else None
        languages = list(self.instance.languages or self.survey_languages)
        data = {
            "languages": languages,
            "hidden_fields": list(self.instance.hidden_fields or []),
            "questions": [self._as_question(f) for f in kept],
        }
        problems = validate_survey(data, survey=survey)
        for path, messages in problems.items():
            match = QUESTION_PATH.match(path)
            if match is None:
                if path.startswith("questions"):
                    raise ValidationError(messages)
                continue  # the survey's own fields are its form's to check
            form = kept[int(match["index"])]
            name = AUTHORING_FIELDS.get(match["field"] or "")
            for message in messages:
                form.add_error(name if name in form.fields else None, message)
        if any(form.errors for form in kept):
            raise ValidationError(_("Fix the questions marked below."))

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


def question_text(key: str, label: Any, limit: int = 60) -> str:
    """How a question is named in the builder's pickers: its label in the admin's language."""
    label = label if isinstance(label, Mapping) else {}
    text = label.get(get_language() or "", "") or next(iter(label.values()), "") or key
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rule_errors(specs: list[QuestionSpec]) -> dict[str, list[str]]:
    """What the "show when" controls refuse, and the rules' values typed as stored.

    An operator must suit the named question's type and a value must be one of its choices or
    a number on its scale. Values of scored questions become numbers in the specs' rules.
    """
    by_key = {s.key: s for s in specs}
    errors: dict[str, list[str]] = {}
    for spec in specs:
        rules = spec.show_if
        conditions = rules.get("all", rules.get("any", [rules])) if isinstance(rules, dict) else []
        for cond in conditions if isinstance(conditions, list) else []:
            ref = by_key.get(cond.get("question")) if isinstance(cond, dict) else None
            if ref is None or cond.get("op") not in OPERATOR_LABELS:
                continue  # unknown questions and list operators are logic_errors' to report
            problem = _condition_problem(cond, ref)
            if problem:
                errors.setdefault(spec.key, []).append(problem)
    return errors


def _condition_problem(cond: dict[str, Any], ref: QuestionSpec) -> str | None:
    op = cond["op"]
    type_label = QuestionType(ref.type).label if ref.type in QuestionType.values else ref.type
    if op not in OPS_BY_TYPE.get(ref.type, ()):
        return _("“%(key)s” is a %(type)s question; “%(operator)s” does not apply to it.") % {
            "key": ref.key,
            "type": type_label,
            "operator": OPERATOR_LABELS[op],
        }
    if op in NO_VALUE_OPS:
        cond.pop("value", None)
        return None
    value = str(cond.get("value", "")).strip()
    scale = ref.value_range()
    if scale is not None:
        lo, hi = scale
        if not INTEGER.fullmatch(value) or not lo <= int(value) <= hi:
            return _("“%(key)s” is answered from %(lo)s to %(hi)s; choose a number in it.") % {
                "key": ref.key,
                "lo": lo,
                "hi": hi,
            }
        cond["value"] = int(value)
        return None
    if value not in ref.choices:
        return _("“%(value)s” is not one of the choices of “%(key)s”.") % {
            "value": value,
            "key": ref.key,
        }
    cond["value"] = value
    return None


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
