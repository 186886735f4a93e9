"""Reads about people: everything the platform holds about one person (access requests)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils import timezone

from audiences.models import Consent, Membership, Person


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def person_export(*, person: Person, real_states: bool = False) -> dict[str, Any]:
    """Everything held about `person`, as JSON-ready data (a GDPR access/portability request).

    Anonymous responses are not included: they keep no link to anyone, so they cannot be found
    from the person (and are not theirs to export). Invitations carry the state the reader is
    shown (surveys.selectors.invitations_shown): the stored one only with `real_states`
    (superusers), else an anonymous survey's answer shows once its period is published.
    Queries: memberships, consents, events, invitations, responses, answers — six, whatever
    the person's history.
    """
    from journeys.models import TouchpointEvent
    from surveys.models import Answer, Invitation, Response
    from surveys.selectors import invitations_shown

    memberships = [
        {
            "audience": m["audience__slug"],
            "audience_name": m["audience__name"],
            "segment": m["segment"],
            "attributes": m["attributes"],
            "joined_on": _iso(m["joined_on"]),
            "left_on": _iso(m["left_on"]),
        }
        for m in Membership.objects.filter(person=person)
        .order_by("audience__priority", "audience__name")
        .values(
            "audience__slug",
            "audience__name",
            "segment",
            "attributes",
            "joined_on",
            "left_on",
        )
    ]
    consents = [
        {
            "channel": c["channel"],
            "status": c["status"],
            "source": c["source"],
            "changed_at": _iso(c["changed_at"]),
        }
        for c in Consent.objects.filter(person=person)
        .order_by("channel")
        .values("channel", "status", "source", "changed_at")
    ]
    events = [
        {
            "touchpoint": e["touchpoint__slug"],
            "occurred_at": _iso(e["occurred_at"]),
            "recorded_at": _iso(e["recorded_at"]),
            "attributes": e["attributes"],
        }
        for e in TouchpointEvent.objects.filter(person=person)
        .order_by("occurred_at", "id")
        .values("touchpoint__slug", "occurred_at", "recorded_at", "attributes")
    ]
    # An invitation of an anonymous survey says that it was answered (its state, once its period
    # is published), never when: its opened and responded times would date the answer beside
    # the period it is reported in.
    invitations = [
        {
            "id": i["id"],
            "survey": i["survey__name"],
            "channel": i["channel"],
            "state": i["shown_state"],
            "planned_at": _iso(i["planned_at"]),
            "sent_at": _iso(i["sent_at"]),
            "opened_at": None if i["survey__anonymous"] else _iso(i["opened_at"]),
            "responded_at": None if i["survey__anonymous"] else _iso(i["responded_at"]),
        }
        for i in invitations_shown(Invitation.objects.filter(person=person), real=real_states)
        .order_by("id")
        .values(
            "id",
            "survey__name",
            "survey__anonymous",
            "channel",
            "shown_state",
            "planned_at",
            "sent_at",
            "opened_at",
            "responded_at",
        )
    ]
    # Only named surveys' responses can carry a person; the filter on `anonymous` is a guard.
    responses_qs = (
        Response.objects.filter(person=person, survey__anonymous=False)
        .order_by("id")
        .values("id", "survey__name", "channel", "language", "completed_on", "completed_at")
    )
    responses = [
        {
            "id": r["id"],
            "survey": r["survey__name"],
            "channel": r["channel"],
            "language": r["language"],
            "completed_at": _iso(r["completed_at"] or r["completed_on"]),
            "answers": [],
        }
        for r in responses_qs
    ]
    by_response: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if responses:
        for a in (
            Answer.objects.filter(response_id__in=[r["id"] for r in responses])
            .order_by("response_id", "question__order", "question_id")
            .values("response_id", "question__key", "number", "text", "choices")
        ):
            by_response[a["response_id"]].append(
                {
                    "question": a["question__key"],
                    "number": a["number"],
                    "text": a["text"],
                    "choices": a["choices"],
                }
            )
        for r in responses:
            r["answers"] = by_response.get(r["id"], [])
    return {
        "exported_at": timezone.now().isoformat(),
        "person": {
            "id": person.pk,
            "external_id": person.external_id,
            "email": person.email,
            "phone": person.phone,
            "name": person.name,
            "language": person.language,
            "time_zone": person.time_zone,
            "created_at": _iso(person.created_at),
            "updated_at": _iso(person.updated_at),
        },
        "memberships": memberships,
        "consents": consents,
        "events": events,
        "invitations": invitations,
        "responses": responses,
    }
