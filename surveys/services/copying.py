"""Copying a survey: its settings, languages, texts and questions, never its responses."""

from django.db import transaction
from django.utils.translation import gettext

from surveys.models import Question, Survey, SurveyStatus

# What belongs to the original alone: its identity, its life and its results.
NOT_COPIED = frozenset({"id", "created_at", "status"})


@transaction.atomic
def survey_copy(*, survey: Survey, name: str | None = None) -> Survey:
    """A draft copy of `survey` named "… (copy)", with copies of its current questions.

    Responses, invitations, public links and distribution rules stay with the original; the
    copy starts with none, so it can change what answered surveys cannot (anonymity, types).
    """
    values = {
        f.attname: getattr(survey, f.attname)
        for f in Survey._meta.concrete_fields
        if f.attname not in NOT_COPIED
    }
    values["name"] = (name or gettext("%(name)s (copy)") % {"name": survey.name})[:200]
    values["status"] = SurveyStatus.DRAFT
    copy = Survey.objects.create(**values)
    questions = survey.questions.order_by("page", "order", "id")
    Question.objects.bulk_create(
        [
            Question(
                **{
                    f.attname: getattr(q, f.attname)
                    for f in Question._meta.concrete_fields
                    if f.attname not in ("id", "survey_id")
                },
                survey=copy,
            )
            for q in questions
        ]
    )
    return copy
