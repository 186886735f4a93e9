"""A response collected on another channel, for the API: validated like the hosted page
and stored with surveys.services.response_submit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError

from surveys.logic import visible_keys
from surveys.models import Question, Response
from surveys.services import (
    AlreadyResponded,
    Respondent,
    SurveyFull,
    answers_load,
    invitation_for_token,
    response_find,
    response_submit,
    survey_unavailable_reason,
)
from surveys.validation import Invalid, clean_answer
from xmplatform.api import selectors
from xmplatform.api.selectors import Scope


def _raw(value: Any) -> list[str]:
    """An API answer value as the hosted form's list of strings (validation is shared)."""
    if value is None:
        return []
    if isinstance(value, bool):
        raise Invalid(_("Send a number, a text or a list of choice values."))
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, float):
        if value.is_integer():
            return [str(int(value))]
        raise Invalid(_("Send a whole number."))
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        return [str(v) for v in value]
    raise Invalid(_("Send a number, a text or a list of choice values."))


def _languages(survey: Any) -> list[str]:
    known = {code for code, _name in settings.LANGUAGES}
    offered = [code for code in (survey.languages or []) if code in known]
    return offered or [survey.default_language if survey.default_language in known else "en"]


def response_post(
    *, scope: Scope, token: str, answers: dict[str, Any], language: str | None = None
) -> tuple[dict[str, Any], int]:
    """Record a response for an invitation token; validated like the hosted page."""
    invitation = invitation_for_token(token)
    if invitation is None or not scope.allows(invitation.survey.audience_id):
        raise ValidationError({"token": [_("Unknown token.")]})
    survey = invitation.survey
    if invitation.responded_at is not None:
        return _already(), status.HTTP_409_CONFLICT
    reason = survey_unavailable_reason(survey=survey, invitation=invitation)
    if reason is not None:
        return {
            "detail": _("This survey cannot be answered now (%(reason)s).") % {"reason": reason},
            "code": reason,
        }, status.HTTP_410_GONE
    offered = _languages(survey)
    if language is not None and language not in offered:
        raise ValidationError({"language": [_("Use one of: %(v)s.") % {"v": ", ".join(offered)}]})
    preferred = [language, invitation.language, getattr(invitation, "person_language", None)]
    chosen = next((code for code in preferred if code in offered), None)
    if chosen is None:
        chosen = survey.default_language if survey.default_language in offered else offered[0]
    questions = sorted(
        Question.objects.filter(survey_id=survey.pk).order_by(),
        key=lambda q: (q.page, q.order, q.pk),
    )
    values = _clean_answers(questions, answers)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    existing = response_find(respondent=respondent)
    earlier = answers_load(response=existing, questions=questions) if existing else None
    try:
        response = response_submit(
            respondent=respondent,
            response=existing,
            questions=questions,
            values=values,
            earlier=earlier,
            language=chosen,
            user_agent="api",
        )
    except AlreadyResponded:
        return _already(), status.HTTP_409_CONFLICT
    except SurveyFull:
        return {
            "detail": _("The survey has received all the answers it needs."),
            "code": "full",
        }, status.HTTP_410_GONE
    stored = Response.objects.select_related("survey", "audience", "touchpoint", "person").get(
        pk=response.pk
    )
    return selectors.responses_data(responses=[stored])[0], status.HTTP_201_CREATED


def _already() -> dict[str, Any]:
    return {
        "detail": _("This invitation has already been answered; one response is kept."),
        "code": "already_responded",
    }


def _clean_answers(questions: Sequence[Question], answers: dict[str, Any]) -> dict[str, Any]:
    by_key = {q.key: q for q in questions}
    problems: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in answers.items():
        question = by_key.get(key)
        if question is None:
            problems[key] = _("Unknown question key; the survey's keys are: %(keys)s.") % {
                "keys": ", ".join(by_key)
            }
            continue
        try:
            cleaned[key] = clean_answer(question, _raw(value))
        except Invalid as exc:
            problems[key] = str(exc.message)
    shown = visible_keys(questions, {k: v for k, v in cleaned.items() if v is not None})
    for question in questions:
        if (
            question.key in shown
            and question.required
            and cleaned.get(question.key) is None
            and question.key not in problems
        ):
            problems[question.key] = _("Please answer this question.")
    if problems:
        raise ValidationError({"answers": problems})
    return {k: v for k, v in cleaned.items() if k in shown}
