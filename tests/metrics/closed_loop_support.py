"""Builders for closed-loop tests: a survey with a contact question, rules, submitted responses."""

import datetime as dt
from typing import Any

from django.test import Client

from metrics.models import AlertRule, NotifyMode, RuleCondition
from surveys.models import QuestionType, Survey
from tests.surveys.test_hosted_support import add_question, invite, three_page_survey, url

YES_NO_CHOICES = [
    {"value": "yes", "label": {"en": "Yes", "tr": "Evet"}},
    {"value": "no", "label": {"en": "No", "tr": "Hayır"}},
]


def contact_survey(**extra: Any) -> Survey:
    """The three-page NPS survey plus the closed-loop `may_contact` question on page 3."""
    survey = three_page_survey(**extra)
    add_question(
        survey,
        "may_contact",
        QuestionType.SINGLE_CHOICE,
        page=3,
        order=6,
        required=False,
        choices=YES_NO_CHOICES,
        label={"en": "May we contact you?", "tr": "Sizinle iletişime geçebilir miyiz?"},
    )
    return survey


def detractor_rule(survey: Survey, /, **extra: Any) -> AlertRule:
    """NPS ≤ 6 opens a case for the audience owner, due in a day, e-mailed at once."""
    extra.setdefault("name", "Detractor callback")
    extra.setdefault("condition", RuleCondition.ANSWER_AT_MOST)
    extra.setdefault("question_type", QuestionType.NPS)
    extra.setdefault("threshold", 6)
    extra.setdefault("notify", NotifyMode.IMMEDIATE)
    extra.setdefault("sla", dt.timedelta(hours=24))
    return AlertRule.objects.create(audience=survey.audience, **extra)


def submit(client: Client, token: str, *, nps: str = "3", may_contact: str | None = "yes") -> None:
    """Answer the three pages of `contact_survey` through the hosted pages."""
    path = url(token)
    client.post(path, {"page": "1", "q-nps": nps})
    client.post(path, {"page": "2", "q-improve": "Kargo çok geç geldi", "q-liked": "Hız"})
    last = {"page": "3", "q-csat": "2", "q-reason": "price"}
    if may_contact is not None:
        last["q-may_contact"] = may_contact
    client.post(path, last)


def open_case(rule: AlertRule, *, title: str, due_in: dt.timedelta, assignee: Any = None) -> Any:
    """An alert of `rule` and its open case (as a score rule would open it), due in `due_in`."""
    from django.utils import timezone

    from metrics.models import Alert, Case

    now = timezone.now()
    alert = Alert.objects.create(
        rule=rule,
        audience=rule.audience,
        window_start=now - dt.timedelta(days=Alert.objects.count() + 1),
        summary=title,
        opened_at=now,
        notify=NotifyMode.NONE,
    )
    return Case.objects.create(
        alert=alert,
        audience=rule.audience,
        title=title,
        assignee=assignee or rule.audience.owner,
        opened_at=now - dt.timedelta(days=2),
        due_at=now + due_in,
    )


def completed_response(survey: Survey, nps: int = 2) -> Any:
    """A completed named response with one NPS answer, written without the hosted pages (so
    nothing is owed to the outbox for it)."""
    from django.utils import timezone

    from surveys.models import Answer, Response

    invitation, _token = invite(survey, external_id=f"r-{survey.invitations.count()}")
    response = Response.objects.create(
        survey=survey,
        audience=survey.audience,
        person=invitation.person,
        channel="email",
        language="en",
        completed_on=timezone.localdate(),
        completed_at=timezone.now(),
    )
    Answer.objects.create(response=response, question=survey.questions.get(key="nps"), number=nps)
    return response


__all__ = [
    "completed_response",
    "contact_survey",
    "detractor_rule",
    "invite",
    "open_case",
    "submit",
]
