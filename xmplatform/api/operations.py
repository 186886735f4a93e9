"""What the API views do with a request body: validate per item, apply the key's scope, and
call the domain services (people_upsert, events_record_bulk, invitation_request,
response_submit). Nothing here writes except through those services.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError

from audiences.models import AuditAction, Channel, Person
from audiences.services import PERSON_FIELDS, UpsertResult, audit_record, people_upsert
from journeys.models import Touchpoint, TouchpointEvent
from journeys.services import events_record_bulk
from surveys.distribution import ondemand
from surveys.logic import visible_keys
from surveys.models import Invitation, Question, Response
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
from surveys.validation import Invalid, clean_answer, scale_of
from xmplatform.api import selectors
from xmplatform.api.selectors import Scope
from xmplatform.api.serializers import PersonItemSerializer

MAX_ID = 2**63 - 1
# The channels the platform delivers itself: the only ones an anonymous survey's link takes.
PLATFORM_CHANNELS = [c for c in Channel.values if c not in ondemand.CALLER_CHANNELS]
EVENT_KEY_MAX_LENGTH = TouchpointEvent._meta.get_field("idempotency_key").max_length or 128


def _error(index: int, field: str | None, message: Any) -> dict[str, Any]:
    return {"index": index, "field": field, "message": str(message)}


def _flatten(index: int, errors: Any, prefix: str = "") -> list[dict[str, Any]]:
    """DRF's nested error structure as flat {"index", "field", "message"} items."""
    out: list[dict[str, Any]] = []
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if key == "non_field_errors":
                name = prefix  # about the object at `prefix` as a whole
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"  # DRF keys a list's errors by position
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten(index, value, name))
    elif isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            out.extend(_error(index, prefix or None, e) for e in errors)
        else:
            for i, value in enumerate(errors):
                if value:
                    out.extend(_flatten(index, value, f"{prefix}[{i}]"))
    else:
        out.append(_error(index, prefix or None, errors))
    return out


# --- People ------------------------------------------------------------------------------


def people_submit(*, items: Sequence[Any], scope: Scope) -> dict[str, Any]:
    """Validate each item, then upsert the valid ones set-based; errors are listed by index.

    Queries: audiences named, (scoped keys: people outside the scope), then people_upsert once
    for the people and once per audience named for the memberships.
    """
    errors: list[dict[str, Any]] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(_error(index, None, _("Each item must be a JSON object.")))
            continue
        serializer = PersonItemSerializer(data=item)
        if not serializer.is_valid():
            errors.extend(_flatten(index, serializer.errors))
            continue
        data = dict(serializer.validated_data)
        external_id = data["external_id"]
        if external_id in first:
            errors.append(
                _error(
                    index,
                    "external_id",
                    _("%(id)s is already at index %(first)d of this list.")
                    % {"id": external_id, "first": first[external_id]},
                )
            )
            continue
        first[external_id] = index
        slugs = [m["audience"] for m in data.get("audiences", [])]
        repeated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if repeated:
            errors.append(
                _error(
                    index,
                    "audiences",
                    _("Audience %(slug)s is named more than once.") % {"slug": repeated[0]},
                )
            )
            continue
        if not scope.unrestricted and not slugs:
            errors.append(
                _error(
                    index,
                    "audiences",
                    _("This key is limited to some audiences: name at least one of them."),
                )
            )
            continue
        valid.append((index, data))
    wanted = {m["audience"] for _i, d in valid for m in d.get("audiences", [])}
    audiences = {
        a.slug: a for a in selectors.audiences_visible(scope=scope).filter(slug__in=wanted)
    }
    hidden: set[str] = set()
    if not scope.unrestricted and valid:
        ids = [d["external_id"] for _i, d in valid]
        visible = selectors.people_visible(scope=scope).filter(external_id__in=ids)
        hidden = set(
            Person.objects.filter(external_id__in=ids)
            .exclude(pk__in=visible.values("pk"))
            .values_list("external_id", flat=True)
        )
    rows: list[dict[str, Any]] = []
    memberships: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for index, data in valid:
        problems = [
            _error(
                index,
                f"audiences[{j}].audience",
                _("Unknown audience %(slug)s.") % {"slug": m["audience"]},
            )
            for j, m in enumerate(data.get("audiences", []))
            if m["audience"] not in audiences
        ]
        if data["external_id"] in hidden:
            problems.append(
                _error(index, "external_id", _("This external id cannot be used with this key."))
            )
        if problems:
            errors.extend(problems)
            continue
        rows.append(
            {"external_id": data["external_id"], **{f: data[f] for f in PERSON_FIELDS if f in data}}
        )
        for m in data.get("audiences", []):
            row: dict[str, Any] = {"external_id": data["external_id"]}
            for key in ("segment", "attributes", "joined_on"):
                if m.get(key) is not None:
                    row[key] = m[key]
            memberships[m["audience"]].append(row)
    # Concurrent batches naming the same people lock them in one order (their external ids'),
    # so they wait for each other instead of deadlocking.
    rows.sort(key=lambda row: row["external_id"])
    result = UpsertResult()
    with transaction.atomic():
        if rows:
            result = people_upsert(rows=rows)
        for slug, member_rows in sorted(memberships.items()):
            member_rows.sort(key=lambda row: row["external_id"])
            result.add(_memberships_only(people_upsert(rows=member_rows, audience=audiences[slug])))
    errors.sort(key=lambda e: e["index"])
    return {
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "memberships_created": result.memberships_created,
        "memberships_updated": result.memberships_updated,
        "errors": errors,
    }


def _memberships_only(result: UpsertResult) -> UpsertResult:
    """The membership counts of a per-audience call (its people were counted already)."""
    return UpsertResult(
        memberships_created=result.memberships_created,
        memberships_updated=result.memberships_updated,
        memberships_unchanged=result.memberships_unchanged,
    )


# --- Events ------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    """A name sent as text (or a whole number, as the people endpoint accepts), else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _occurred_at(value: Any) -> tuple[dt.datetime | None, str | None]:
    """(aware date-time, None), or (None, what is wrong with it)."""
    if value is None:
        return None, _("occurred_at is required (an ISO 8601 date-time).")
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:  # well-formed but impossible, e.g. month 13
            return None, _("occurred_at %(value)s is not a valid date-time.") % {"value": value}
    if parsed is None:
        return None, _("occurred_at %(value)s is not an ISO 8601 date-time.") % {"value": value}
    if timezone.is_naive(parsed):
        return None, _(
            "%(label)s has no time zone; send an aware time such as 2025-05-01T09:30:00+03:00."
        ) % {"label": "occurred_at"}
    return parsed, None


def _event_item(index: int, item: Any, errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The item with its names as text and occurred_at parsed, or None (errors appended)."""
    if not isinstance(item, dict):
        errors.append(_error(index, None, _("Each item must be a JSON object.")))
        return None
    problems: list[dict[str, Any]] = []
    person = _text(item.get("person"))
    if not person:
        problems.append(
            _error(index, "person", _("Name the person by their external id (a text)."))
        )
    touchpoint = _text(item.get("touchpoint"))
    if not touchpoint:
        problems.append(_error(index, "touchpoint", _("Name the touchpoint by its slug (a text).")))
    occurred_at, problem = _occurred_at(item.get("occurred_at"))
    if problem:
        problems.append(_error(index, "occurred_at", problem))
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        problems.append(
            _error(index, "attributes", _("attributes must be an object of names to values."))
        )
    key = item.get("idempotency_key")
    if key is not None:
        key = _text(key)
        if key is None:
            problems.append(
                _error(index, "idempotency_key", _("The idempotency key must be a text."))
            )
        elif len(key) > EVENT_KEY_MAX_LENGTH:
            problems.append(
                _error(
                    index,
                    "idempotency_key",
                    _("The idempotency key is longer than %(n)d characters.")
                    % {"n": EVENT_KEY_MAX_LENGTH},
                )
            )
    if problems:
        errors.extend(problems)
        return None
    return {
        "person": person,
        "touchpoint": touchpoint,
        "occurred_at": occurred_at,
        "attributes": attributes,
        "idempotency_key": key,
    }


def events_submit(*, items: Sequence[Any], scope: Scope) -> dict[str, Any]:
    """Check each item's fields, resolve its person and touchpoint within the key's scope, and
    store the good ones with journeys.services.events_record_bulk.

    People and touchpoints outside the key's audiences are reported exactly like unknown ones.
    Queries: people, touchpoints, then the service's one INSERT.
    """
    errors: list[dict[str, Any]] = []
    good: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        checked = _event_item(index, item, errors)
        if checked is not None:
            good.append((index, checked))
    people: dict[str, int] = {}
    touchpoints: dict[str, int] = {}
    if good:
        people = dict(
            selectors.people_visible(scope=scope)
            .filter(external_id__in=selectors.texts_in({i["person"] for _x, i in good}))
            .values_list("external_id", "id")
        )
        touchpoints = dict(
            selectors.touchpoints_visible(scope=scope)
            .filter(slug__in={i["touchpoint"] for _x, i in good})
            .values_list("slug", "id")
        )
    kept: list[tuple[int, dict[str, Any]]] = []
    for index, item in good:
        known = True
        if item["person"] not in people:
            errors.append(
                _error(index, "person", _("Unknown person %(id)s.") % {"id": item["person"]})
            )
            known = False
        if item["touchpoint"] not in touchpoints:
            errors.append(
                _error(
                    index,
                    "touchpoint",
                    _("Unknown touchpoint %(slug)s.") % {"slug": item["touchpoint"]},
                )
            )
            known = False
        if known:
            kept.append((index, item))
    result = events_record_bulk(
        items=[item for _i, item in kept], person_ids=people, touchpoint_ids=touchpoints
    )
    errors.extend(_error(kept[e.index][0], None, e.message) for e in result.errors)
    errors.sort(key=lambda e: e["index"])
    return {"accepted": result.accepted, "duplicates": result.duplicates, "errors": errors}


# --- Invitations -------------------------------------------------------------------------


def invitation_submit(
    *, scope: Scope, actor_name: str, survey: int, person: str, channel: str
) -> tuple[dict[str, Any], int]:
    """Ask surveys.distribution.ondemand for one invitation; (body, HTTP status).

    Privacy: an anonymous survey's link never leaves the platform. Whoever holds a token can
    answer in that person's place, so a key could invite people it made up and answer for
    them right after the person it watches, and isolate that person's answer in a batch of k.
    Such an invitation is delivered by the platform on its own channel (channels the caller
    delivers are refused), the reply withholds url and token, and every request is audited
    with the key's name, so a burst of invitations is visible.
    """
    found = selectors.surveys_visible(scope=scope).filter(pk=survey).first()
    if found is None:
        raise ValidationError({"survey": [_("Unknown survey %(id)s.") % {"id": survey}]})
    who = selectors.people_visible(scope=scope).filter(external_id=person).first()
    if who is None:
        raise ValidationError({"person": [_("Unknown person %(id)s.") % {"id": person}]})
    if found.anonymous and channel in ondemand.CALLER_CHANNELS:
        raise ValidationError(
            {
                "channel": [
                    _(
                        "An anonymous survey's link goes only to the person, on a channel the "
                        "platform delivers: use one of %(channels)s."
                    )
                    % {"channels": ", ".join(PLATFORM_CHANNELS)}
                ]
            }
        )
    with transaction.atomic():
        try:
            requested = ondemand.invitation_request(survey=found, person=who, channel=channel)
        except DjangoValidationError as exc:
            raise ValidationError({exc.code or "detail": exc.messages}) from exc
        invitation = requested.invitation
        if found.anonymous:
            _audit_anonymous_request(actor_name=actor_name, invitation=invitation)
    if requested.suppressed:
        body = {
            "id": invitation.pk,
            "state": invitation.state,
            "reason": invitation.suppression_reason,
        }
        return body, status.HTTP_200_OK
    if found.anonymous:
        body = {
            "id": invitation.pk,
            "state": invitation.state,
            "url": None,
            "token": None,
            "link_withheld": True,
            "detail": _(
                "The platform delivers this anonymous survey's invitation to the person; its "
                "link is never returned, so nobody else can answer in their place."
            ),
        }
        return body, status.HTTP_201_CREATED
    body = {
        "id": invitation.pk,
        "state": invitation.state,
        "url": requested.url,
        "token": requested.token,
        "link_withheld": False,
    }
    return body, status.HTTP_201_CREATED


def _audit_anonymous_request(*, actor_name: str, invitation: Invitation) -> None:
    """One audit entry for an API request of an invitation to an anonymous survey: who asked
    (the key), for whom (by id), on which channel, and what came of it (planned, suppressed)."""
    audit_record(
        actor=None,
        actor_name=actor_name,
        action=AuditAction.INVITATION_REQUESTED,
        audiences=[invitation.survey.audience_id],
        target=f"person {invitation.person_id}",
        detail={
            "survey": invitation.survey_id,
            "invitation": invitation.pk,
            "channel": invitation.channel,
            "state": invitation.state,
        },
    )


# --- Responses ---------------------------------------------------------------------------


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


# --- Shapes ------------------------------------------------------------------------------


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) if v is not None else "" for k, v in value.items()}
    return {"": str(value)} if value else {}


def question_data(question: Question) -> dict[str, Any]:
    scale = scale_of(question)
    return {
        "key": question.key,
        "type": question.type,
        "required": question.required,
        "page": question.page,
        "order": question.order,
        "label": _texts(question.label),
        "help": _texts(question.help),
        "choices": [
            {"value": str(c.get("value")), "label": _texts(c.get("label"))}
            for c in (question.choices or [])
            if isinstance(c, Mapping)
        ],
        "scale": {"min": scale[0], "max": scale[1]} if scale else None,
        "multiline": question.multiline,
        "show_if": question.show_if,
    }


def score_groups(rows: list[dict[str, Any]], *, by: str | None) -> list[dict[str, Any]]:
    """Scores rows with `group` as the API names it: a touchpoint's slug, a period's start."""
    slugs: dict[Any, str] = {}
    if by == "touchpoint":
        ids = {r["group"] for r in rows if isinstance(r["group"], int)}
        slugs = dict(Touchpoint.objects.filter(id__in=ids).values_list("id", "slug"))
    out = []
    for row in rows:
        group = row["group"]
        if by == "touchpoint" and isinstance(group, int):
            group = slugs.get(group, group)
        elif isinstance(group, dt.date):
            group = group.isoformat()
        out.append({**row, "group": group})
    return out


def export_scoped(*, data: dict[str, Any], person: Person, scope: Scope) -> dict[str, Any]:
    """A person's export cut down to what a scoped key may see (four queries)."""
    slugs = set(selectors.audiences_visible(scope=scope).values_list("slug", flat=True))
    touchpoints = set(selectors.touchpoints_visible(scope=scope).values_list("slug", flat=True))
    invitations = set(
        Invitation.objects.filter(
            person=person, survey__audience_id__in=scope.audience_ids or ()
        ).values_list("id", flat=True)
    )
    responses = set(
        Response.objects.filter(
            person=person, audience_id__in=scope.audience_ids or ()
        ).values_list("id", flat=True)
    )
    return {
        **data,
        "memberships": [m for m in data["memberships"] if m["audience"] in slugs],
        "events": [e for e in data["events"] if e["touchpoint"] in touchpoints],
        "invitations": [i for i in data["invitations"] if i["id"] in invitations],
        "responses": [r for r in data["responses"] if r["id"] in responses],
    }


def check_id(value: int) -> bool:
    return 0 < value <= MAX_ID
