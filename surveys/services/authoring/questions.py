"""Questions written as a survey's new set, matched by key, and the version it makes."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Exists, OuterRef, Value
from django.utils.translation import gettext as _

from surveys.logic import QuestionSpec
from surveys.models import Answer, Question, QuestionType, Survey, SurveyVersion
from surveys.services.authoring.fields import actor_name
from surveys.versions.changes import changes_between, snapshot
from surveys.versions.cleaning import Errors, QuestionInput, add, clean_questions
from surveys.versions.selectors import answering_hidden, live_version_answered


@dataclass(frozen=True)
class VersionChange:
    """What a save of the questions did: the live version after it, whether the save made it
    (False: the live version had no response yet, so it changed in place, or nothing changed),
    and what changed from the version before, as [{"key", "kind", "fields"}]."""

    version: int
    created: bool
    changes: list[dict[str, Any]] = field(default_factory=list)


def questions_with_answers(survey: Survey) -> dict[str, Question]:
    """Every question of `survey` (retired ones too) by key, with `answered` (one query).

    In a live anonymous survey every question counts as answered (see answering_hidden)."""
    answered = (
        Value(True, output_field=BooleanField())
        if answering_hidden(survey)
        else Exists(Answer.objects.filter(question_id=OuterRef("pk")))
    )
    rows = Question.objects.filter(survey=survey).annotate(answered=answered)
    return {q.key: q for q in rows}


def _check_kept(
    survey: Survey,
    inputs: Sequence[QuestionInput],
    existing: Mapping[str, Question],
    errors: Errors,
) -> None:
    """A question with answers keeps its type and scale: its answers were given on them, and
    metrics and rollups read them as such."""
    hidden = answering_hidden(survey)
    for question in inputs:
        old = existing.get(question.key)
        if old is None or not old.answered:  # type: ignore[attr-defined]
            continue
        path = f"questions[{question.index}]"
        if question.type != old.type:
            add(
                errors,
                f"{path}.type",
                (
                    _(
                        "“%(key)s” is in a live anonymous survey and may have answers, so its "
                        "type stays %(type)s; add a question with a new key to ask it another way."
                    )
                    if hidden
                    else _(
                        "“%(key)s” already has answers, so its type stays %(type)s; add a "
                        "question with a new key to ask it another way."
                    )
                )
                % {"key": old.key, "type": QuestionType(old.type).label},
            )
            continue
        old_range = QuestionSpec.of(old).value_range()
        if question.spec().value_range() != old_range:
            add(
                errors,
                f"{path}.scale",
                _(
                    "“%(key)s” has or may have answers, so its scale stays %(min)d to %(max)d; "
                    "add a question with a new key to use another scale."
                )
                % {"key": old.key, "min": old_range[0], "max": old_range[1]}
                if old_range
                else _("“%(key)s” has or may have answers, so it takes no scale.")
                % {"key": old.key},
            )
            continue
        # The same range however it was written (a CES of 7 points stored as null or 7): the
        # stored value stays, as rollups and score filters compare it.
        question.scale_max = old.scale_max


def questions_apply(
    survey: Survey,
    inputs: Sequence[QuestionInput],
    existing: Mapping[str, Question],
    actor: Any,
    *,
    new: bool = False,
) -> VersionChange:
    """Write `inputs` as the survey's questions and record the version (`new`: the survey was
    just created, so this is its first version). The survey is locked."""
    before = snapshot(existing.values())
    live_answered = not new and live_version_answered(survey)
    number = survey.version + 1 if live_answered else survey.version
    wanted = {q.key for q in inputs}
    creates, updates, restored = [], [], []
    for question in inputs:
        old = existing.get(question.key)
        if old is None:
            creates.append(Question(survey=survey, key=question.key, **question.columns()))
            continue
        for name, value in question.columns().items():
            setattr(old, name, value)
        if old.retired_in is not None:
            restored.append(old.key)
            old.retired_in = None
        updates.append(old)
    retired, deleted = [], []
    for key, old in existing.items():
        if key in wanted or old.retired_in is not None:
            continue
        if old.answered:  # type: ignore[attr-defined]
            old.retired_in = number
            updates.append(old)
            retired.append(key)
        else:
            deleted.append(old.pk)
    after_rows = [*updates, *creates]
    after = snapshot(after_rows)
    if after == before and not retired and not deleted:
        return VersionChange(version=survey.version, created=False, changes=[])
    if deleted:
        Question.objects.filter(pk__in=deleted).delete()
    if updates:
        Question.objects.bulk_update(updates, [*QuestionInput.COLUMNS, "retired_in"])
    if creates:
        Question.objects.bulk_create(creates)
    name = actor_name(actor)
    if live_answered:
        # What the existing responses answered, for surveys whose versions began before
        # versions were recorded.
        SurveyVersion.objects.get_or_create(
            survey=survey, number=survey.version, defaults={"questions": before, "created_by": ""}
        )
        changes = changes_between(before, after, retired=retired, restored=restored)
        SurveyVersion.objects.create(
            survey=survey, number=number, questions=after, changes=changes, created_by=name
        )
        Survey.objects.filter(pk=survey.pk).update(version=number)
        survey.version = number
        return VersionChange(version=number, created=True, changes=changes)
    previous = (
        SurveyVersion.objects.filter(survey=survey, number=number - 1).first()
        if number > 1
        else None
    )
    changes = (
        changes_between(previous.questions, after, retired=_retired_keys(survey), restored=restored)
        if previous is not None
        else []
    )
    SurveyVersion.objects.update_or_create(
        survey=survey,
        number=number,
        defaults={"questions": after, "changes": changes, "created_by": name},
    )
    return VersionChange(version=number, created=False, changes=changes)


def _retired_keys(survey: Survey) -> set[str]:
    return set(
        Question.objects.filter(survey=survey, retired_in__isnull=False).values_list(
            "key", flat=True
        )
    )


def check_questions(
    survey: Survey,
    raw: Any,
    languages: Sequence[str],
    errors: Errors,
    *,
    hidden: Sequence[str] = (),
) -> tuple[list[QuestionInput], dict[str, Question]]:
    inputs = clean_questions(raw, languages, errors, hidden=hidden)
    existing = questions_with_answers(survey) if survey.pk else {}
    if not errors:
        _check_kept(survey, inputs, existing, errors)
    return inputs, existing
