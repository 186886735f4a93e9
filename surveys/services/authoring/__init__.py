"""Authoring surveys: the one way the builder and the API create a survey and change its
questions, with the same checks and the same versions.

Interface (stable; the admin builder and `POST`/`PATCH /api/v1/surveys/` call it):

    validate_survey(data, *, survey=None, audiences=None) -> dict[str, list[str]]
        Messages by field path ("name", "questions[2].show_if", "questions[0].choices[1].label");
        empty when `data` can be saved. Reads only.
    save_survey(data, *, survey=None, actor=None, audiences=None) -> Survey
        Creates (survey None) or updates the survey; questions through save_questions when
        `data` has "questions". Raises django.core.exceptions.ValidationError whose
        `message_dict` is what validate_survey returns; writes nothing then.
    save_questions(survey, questions, *, actor=None) -> VersionChange
        Replaces the survey's questions by `questions`, matched by key (the builder's save).
        Raises ValidationError (`message_dict` by path) and writes nothing when refused.

`data` is the API's survey shape: name, audience (slug), touchpoint (slug or null), status,
languages, default_language, anonymous, title, intro, thank_you (texts per language),
opens_at, closes_at (ISO 8601 with an offset, or null), reporting_period, priority_class,
response_limit, presentation, questions. On create, omitted fields take their defaults (an
employee audience's surveys default to anonymous, and must be); on update, omitted fields keep
their values. `id`, `created_at` and `version` are read-only and ignored. A question is
    {"key", "type", "required", "page", "order", "label": {lang: text}, "help": {lang: text},
     "choices": [{"value", "label": {lang: text}}], "scale", "multiline", "show_if"}
where `scale` is null, a maximum, or {"min", "max"} (as the API returns it); omitted, required
is true, page 1, order the question's position in the list.

Versions (surveys.versions): while the live version has no response, edits change it in place;
once it has one, a change of the questions makes a new live version, and new responses record
it. Each key keeps one Question row across versions. A question with answers keeps its type and
scale (refused otherwise), and leaving it out retires it instead of deleting it: it is no longer
shown, its answers stay in exports and metrics. A question without answers is deleted.
Both saves lock the survey's row, so two concurrent edits make two versions, never a mix.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from audiences.models import Audience
from surveys import hidden_fields
from surveys.logic import logic_errors
from surveys.models import Question, Survey, SurveyVersion
from surveys.services.authoring.fields import actor_name, clean_fields, labels_in
from surveys.services.authoring.questions import (
    VersionChange,
    check_questions,
    questions_apply,
)
from surveys.versions.changes import snapshot
from surveys.versions.cleaning import Errors, QuestionInput, add

__all__ = ["VersionChange", "save_questions", "save_survey", "validate_survey"]


def _audiences(audiences: QuerySet[Audience] | None) -> QuerySet[Audience]:
    return audiences if audiences is not None else Audience.objects.all()


def _validate(
    data: Any, survey: Survey | None, audiences: QuerySet[Audience]
) -> tuple[dict[str, Any], list[QuestionInput] | None, dict[str, Question], Errors]:
    errors: Errors = {}
    if not isinstance(data, Mapping):
        add(errors, "detail", _("Send a JSON object."))
        return {}, None, {}, errors
    fields = clean_fields(data, survey, audiences, errors)
    languages = [str(code) for code in fields.get("languages") or []]
    names = fields.get("hidden_fields") or []
    inputs, existing = None, {}
    if "questions" in data:
        inputs, existing = check_questions(
            survey or Survey(),
            data["questions"],
            languages,
            errors,
            hidden=names if isinstance(names, list) else [],
        )
    elif survey is not None and "languages" in data and languages != list(survey.languages or []):
        labels_in(survey, languages, errors)
    _check_hidden_fields(survey, fields, inputs, errors)
    return fields, inputs, existing, errors


def _check_hidden_fields(
    survey: Survey | None,
    fields: Mapping[str, Any],
    inputs: list[QuestionInput] | None,
    errors: Errors,
) -> None:
    """The hidden field names against the questions' keys and the survey's anonymity; a name
    the kept questions' display logic tests cannot go."""
    if "hidden_fields" not in fields:
        return
    names = fields["hidden_fields"]
    if inputs is not None:
        keys = [q.key for q in inputs]
        questions: list[Any] = []
    else:
        live = (
            list(Question.objects.filter(survey=survey, retired_in__isnull=True)) if survey else []
        )
        keys, questions = [q.key for q in live], live
    for message in hidden_fields.field_errors(
        names, question_keys=keys, anonymous=bool(fields.get("anonymous"))
    ):
        add(errors, "hidden_fields", message)
    if questions and isinstance(names, list) and "hidden_fields" not in errors:
        for key, problems in logic_errors(questions, names).items():
            for problem in problems:
                add(errors, "hidden_fields", f"{key}: {problem}")


def validate_survey(
    data: dict[str, Any],
    *,
    survey: Survey | None = None,
    audiences: QuerySet[Audience] | None = None,
) -> dict[str, list[str]]:
    """Messages by field path for `data` as a new survey (survey None) or an update of
    `survey`; empty when it can be saved. `audiences` limits the audiences it may name."""
    return _validate(data, survey, _audiences(audiences))[3]


@transaction.atomic
def save_survey(
    data: dict[str, Any],
    *,
    survey: Survey | None = None,
    actor: Any = None,
    audiences: QuerySet[Audience] | None = None,
) -> Survey:
    """Create a survey from `data`, or update `survey` (its row locked); raises
    ValidationError with messages by path and writes nothing when `data` is refused."""
    if survey is not None:
        survey = (
            Survey.objects.select_for_update(of=("self",))
            .select_related("audience", "touchpoint")
            .get(pk=survey.pk)
        )
    fields, inputs, existing, errors = _validate(data, survey, _audiences(audiences))
    if errors:
        raise ValidationError(errors)
    if survey is None:
        survey = Survey.objects.create(**fields)
        if inputs is not None:
            questions_apply(survey, inputs, existing, actor, new=True)
    else:
        # The questions first, judged by the survey as it was: publishing a draft together
        # with its last edits makes no version of its own.
        if inputs is not None:
            questions_apply(survey, inputs, existing, actor)
        for name, value in fields.items():
            if name == "presentation" and value is None:
                continue
            setattr(survey, name, value)
        survey.save()
    if not SurveyVersion.objects.filter(survey=survey, number=survey.version).exists():
        SurveyVersion.objects.create(
            survey=survey,
            number=survey.version,
            questions=snapshot(Question.objects.filter(survey=survey)),
            created_by=actor_name(actor),
        )
    return survey


@transaction.atomic
def save_questions(
    survey: Survey, questions: list[dict[str, Any]], *, actor: Any = None
) -> VersionChange:
    """Replace `survey`'s questions by `questions` (matched by key), in a new version when the
    live one has responses; raises ValidationError with messages by path, writing nothing."""
    locked = Survey.objects.select_for_update().get(pk=survey.pk)
    errors: Errors = {}
    languages = [str(code) for code in locked.languages or []] or [
        code for code, _name in settings.LANGUAGES
    ]
    inputs, existing = check_questions(
        locked, questions, languages, errors, hidden=list(locked.hidden_fields or [])
    )
    if errors:
        raise ValidationError(errors)
    change = questions_apply(locked, inputs, existing, actor)
    survey.version = locked.version
    return change
