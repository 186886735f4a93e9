"""A response collected on another channel, for the API: validated like the hosted page
and answered with surveys.services.response_answer, as the hosted page's last page is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError

from surveys.hosted.languages import survey_languages
from surveys.logic import visible_keys
from surveys.models import Question, Response
from surveys.services import (
    AlreadyResponded,
    Respondent,
    SurveyFull,
    SurveyUnavailable,
    invitation_for_token,
    response_answer,
    response_check,
    survey_questions,
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


def response_post(
    *, scope: Scope, token: str, answers: dict[str, Any], language: str | None = None
) -> tuple[dict[str, Any], int]:
    """Record a response for an invitation token; validated like the hosted page and answered
    by the same service (surveys.services.response_answer)."""
    invitation = invitation_for_token(token)
    if invitation is None or not scope.allows(invitation.survey.audience_id):
        raise ValidationError({"token": [_("Unknown token.")]})
    survey = invitation.survey
    respondent = Respondent(survey=survey, invitation=invitation, token=token)
    try:
        response_check(respondent=respondent)  # refusals come before validation errors
        offered = survey_languages(survey)
        if language is not None and language not in offered:
            raise ValidationError(
                {"language": [_("Use one of: %(v)s.") % {"v": ", ".join(offered)}]}
            )
        preferred = [language, invitation.language, getattr(invitation, "person_language", None)]
        chosen = next((code for code in preferred if code in offered), None)
        if chosen is None:
            chosen = survey.default_language if survey.default_language in offered else offered[0]
        questions = survey_questions(survey=survey)
        response = response_answer(
            respondent=respondent,
            questions=questions,
            values=_clean_answers(questions, answers, invitation.data or {}),
            language=chosen,
            user_agent="api",
        )
    except AlreadyResponded:
        return _already(), status.HTTP_409_CONFLICT
    except SurveyUnavailable as refusal:
        return {
            "detail": _("This survey cannot be answered now (%(reason)s).")
            % {"reason": refusal.reason},
            "code": refusal.reason,
        }, status.HTTP_410_GONE
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


def _clean_answers(
    questions: Sequence[Question], answers: dict[str, Any], fields: dict[str, Any]
) -> dict[str, Any]:
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
    shown = visible_keys(questions, {k: v for k, v in cleaned.items() if v is not None}, fields)
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
