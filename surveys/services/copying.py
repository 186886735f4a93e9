"""Copying a survey: its settings, languages, texts and questions, never its responses."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from surveys.models import Question, Survey, SurveyStatus
from surveys.services.authoring import save_questions
from surveys.versions.changes import snapshot

# What belongs to the original alone: its identity, its life, its versions and its results.
NOT_COPIED = frozenset({"id", "created_at", "status", "version"})


@transaction.atomic
def survey_copy(*, survey: Survey, name: str | None = None, actor: Any = None) -> Survey:
    """A draft copy of `survey` named "… (copy)", with its shown questions as version 1.

    Responses, invitations, public links, distribution rules, versions and retired questions
    stay with the original; the copy may change what answered surveys cannot (anonymity, types).
    """
    values = {
        f.attname: getattr(survey, f.attname)
        for f in Survey._meta.concrete_fields
        if f.attname not in NOT_COPIED
    }
    values["name"] = (name or gettext("%(name)s (copy)") % {"name": survey.name})[:200]
    values["status"] = SurveyStatus.DRAFT
    copy = Survey.objects.create(**values)
    # The API's shape of each shown question, which the authoring service takes back as is.
    save_questions(copy, snapshot(Question.objects.filter(survey=survey)), actor=actor)
    return copy
