"""Response rules: a completed named response against its audience's rules, once.

Runs from the outbox (`response.completed`, metrics.closedloop.handlers). A response to an
anonymous survey is never evaluated: no rule reads its answers, so no case can identify its
respondent. Topic rules ("a comment mentions the topic") wait for the text pipeline: it files
comments under topics minutes later and calls `topic_alerts_open` with what it filed.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db.models import F
from django.utils import timezone

from metrics.closedloop.alerts import Firing, response_alerts_insert
from metrics.closedloop.models import Alert, AlertRule, Case, RuleCondition, RuleKind
from metrics.closedloop.titles import message
from surveys.models import SCORED_TYPES, Answer, QuestionType, Response

# The survey question whose answer says whether the respondent may be contacted (see
# surveys.catalog.may_contact); "no" marks the case "do not contact".
CONTACT_QUESTION_KEY = "may_contact"
CONTACT_NO = "no"
CONTACT_YES = "yes"


def _match(rule: AlertRule, answers: Sequence[Mapping[str, Any]]) -> Firing | None:
    """Whether a response's answers meet a response rule (no queries)."""
    for a in answers:
        if rule.question_id is not None and a["question_id"] != rule.question_id:
            continue
        if rule.condition in (RuleCondition.ANSWER_AT_MOST, RuleCondition.ANSWER_AT_LEAST):
            if a["number"] is None or a["type"] not in SCORED_TYPES:
                continue
            if rule.question_id is None and a["type"] != rule.question_type:
                continue
            if rule.scale_max is not None and a["scale_max"] != rule.scale_max:
                continue
            at_most = rule.condition == RuleCondition.ANSWER_AT_MOST
            hit = a["number"] <= rule.threshold if at_most else a["number"] >= rule.threshold
            if hit:
                return Firing.of(
                    message("answer", type=a["type"], value=a["number"], rule=rule.name),
                    value=float(a["number"]),
                )
        elif rule.condition == RuleCondition.KEYWORD:
            if a["type"] != QuestionType.TEXT or not a["text"]:
                continue
            text = a["text"].casefold()
            found = [k for k in rule.keyword_list() if k in text]
            if found:
                return Firing.of(message("keyword", keyword=found[0], rule=rule.name))
        elif rule.condition == RuleCondition.ANY_ANSWER:
            if a["number"] is not None or a["text"] or a["choices"]:
                return Firing.of(message("answered", key=a["key"], rule=rule.name))
    return None


def _may_contact(answers: Iterable[Mapping[str, Any]]) -> bool | None:
    for a in answers:
        if a["key"] == CONTACT_QUESTION_KEY:
            value = (a["text"] or "").strip().casefold()
            if value == CONTACT_NO:
                return False
            if value == CONTACT_YES:
                return True
    return None


def _rules_apply(*, responses: Sequence[Response], now: dt.datetime) -> list[int]:
    """Evaluate the response rules on completed responses; returns the alerts opened.

    The responses come with their survey and audience loaded. Set-based: one query each for
    the rules and the answers, however many responses, then `response_alerts_insert`.
    """
    named = sorted((r for r in responses if not r.survey.anonymous), key=lambda r: r.pk)
    if not named:
        return []
    rules = list(
        AlertRule.objects.filter(
            audience_id__in={r.audience_id for r in named}, kind=RuleKind.RESPONSE, active=True
        ).order_by("pk")
    )
    applicable = {
        r.pk: found
        for r in named
        if (
            found := [
                rule
                for rule in rules
                if rule.audience_id == r.audience_id
                and rule.survey_id in (None, r.survey_id)
                and rule.touchpoint_id in (None, r.touchpoint_id)
            ]
        )
    }
    if not applicable:
        return []
    answers: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for a in (
        Answer.objects.filter(response_id__in=list(applicable))
        .values("response_id", "question_id", "number", "text", "choices")
        .annotate(
            key=F("question__key"), type=F("question__type"), scale_max=F("question__scale_max")
        )
        .order_by("response_id", "question__order", "question_id")
    ):
        answers[a["response_id"]].append(a)
    alerts: list[Alert] = []
    cases: dict[tuple[int, int], Case] = {}
    for response in named:
        if response.pk not in applicable:
            continue
        given = answers[response.pk]
        may_contact = _may_contact(given)
        for rule in applicable[response.pk]:
            firing = _match(rule, given)
            if firing is not None:
                _fire(rule, response, firing, may_contact, now, alerts, cases)
    return response_alerts_insert(alerts=alerts, cases=cases, now=now)


def _fire(
    rule: AlertRule,
    response: Response,
    firing: Firing,
    may_contact: bool | None,
    now: dt.datetime,
    alerts: list[Alert],
    cases: dict[tuple[int, int], Case],
) -> None:
    """Add one rule's alert on a response, and its case, to what is to be inserted."""
    summary = firing.summary[:300]
    alerts.append(
        Alert(
            rule=rule,
            audience_id=rule.audience_id,
            response=response,
            value=firing.value,
            summary=summary,
            message=firing.message or {},
            opened_at=now,
            notify=rule.notify,
        )
    )
    cases[(rule.pk, response.pk)] = Case(
        audience_id=rule.audience_id,
        response=response,
        person_id=response.person_id,
        may_contact=may_contact,
        title=summary,
        message=firing.message or {},
        assignee_id=rule.assignee_id or response.audience.owner_id,
        opened_at=now,
        due_at=now + rule.sla,
    )


def topic_alerts_open(
    *, pairs: Sequence[tuple[int, int]], now: dt.datetime | None = None
) -> list[int]:
    """Topic rules on comments just filed under topics: `pairs` of (response id, topic id).

    Opens one alert per rule and response through `response_alerts_insert` (idempotent: a
    rerun, or a second comment of the same response on the topic, opens nothing more). Named
    surveys only: a comment of an anonymous survey never reaches a rule. Three queries (rules,
    responses, contact answers) before the inserts, however many pairs.
    """
    if not pairs:
        return []
    now = now or timezone.now()
    topic_ids = {topic_id for _response_id, topic_id in pairs}
    rules = list(
        AlertRule.objects.filter(condition=RuleCondition.TOPIC, active=True, topic_id__in=topic_ids)
        .select_related("topic")
        .order_by("pk")
    )
    if not rules:
        return []
    responses = {
        r.pk: r
        for r in Response.objects.select_related("survey", "audience").filter(
            pk__in={response_id for response_id, _topic_id in pairs},
            completed_on__isnull=False,
            survey__anonymous=False,
        )
    }
    contact: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for a in Answer.objects.filter(
        response_id__in=list(responses), question__key=CONTACT_QUESTION_KEY
    ).values("response_id", "text", key=F("question__key")):
        contact[a["response_id"]].append(a)
    alerts: list[Alert] = []
    cases: dict[tuple[int, int], Case] = {}
    for response_id, topic_id in sorted(set(pairs)):
        response = responses.get(response_id)
        if response is None:
            continue
        for rule in rules:
            if (
                rule.topic_id != topic_id
                or rule.audience_id != response.audience_id
                or rule.survey_id not in (None, response.survey_id)
                or rule.touchpoint_id not in (None, response.touchpoint_id)
                or (rule.pk, response.pk) in cases
            ):
                continue
            firing = Firing.of(
                message("topic", topic=rule.topic.label if rule.topic else "", rule=rule.name)
            )
            _fire(rule, response, firing, _may_contact(contact[response.pk]), now, alerts, cases)
    return response_alerts_insert(alerts=alerts, cases=cases, now=now)


def response_alerts_open(*, response_id: int, now: dt.datetime | None = None) -> list[int]:
    """Evaluate the response rules on one completed response; returns the alerts opened.

    Idempotent: a second call (a rerun of the outbox row) opens nothing. A response to an
    anonymous survey is not evaluated (no rule reads its answers), so no case can identify its
    respondent.
    """
    now = now or timezone.now()
    response = (
        Response.objects.select_related("survey", "audience")
        .filter(pk=response_id, completed_on__isnull=False)
        .first()
    )
    if response is None or response.survey.anonymous:
        return []
    return _rules_apply(responses=[response], now=now)
