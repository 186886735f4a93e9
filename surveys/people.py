"""What surveys holds of one person: erased, exported and aged out (retention) from above.

xmplatform.people calls these for a person's erasure and export, and for the daily retention;
the audience's retention setting is read from audiences below.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import models
from django.utils import timezone

from audiences.selectors import iso, retention_cutoffs
from surveys.models import (
    Answer,
    ContactLedger,
    Invitation,
    InvitationState,
    QuestionType,
    Response,
)
from surveys.selectors import invitations_shown

# Why an erased person's unsent invitations were suppressed.
ERASED_REASON = "erased"

# Fields that tie a response to a person; cleared by retention and erasure.
RESPONSE_PERSONAL_LINKS: dict[str, Any] = {
    "person": None,
    "invitation": None,
    "started_at": None,
    "completed_at": None,
    "user_agent": "",
    "resume_key": None,
    "browser_key": None,
}


def surveys_person_erase(*, person_id: int) -> dict[str, int]:
    """Delete what names the person and unlink the rest; returns counts by kind.

    Deleted: their contact ledger entries and the free-text answers of their named responses
    (text can name them). Unlinked and kept for the aggregates: their named responses (no
    person, invitation, precise time, user agent or hidden field values; the completion date
    and the scored answers stay, so published scores do not move) and their invitations (no
    person, event, provider message id or hidden field values; unsent ones suppressed, all
    expired so no link opens a survey). Anonymous responses never had a link and are
    untouched. Six statements, whatever the history.
    """
    now = timezone.now()
    _total, contacts = ContactLedger.objects.filter(person_id=person_id).delete()
    _total, free_text = Answer.objects.filter(
        response__person_id=person_id, question__type=QuestionType.TEXT
    ).delete()
    # Hidden field values (an order id, an agent) can lead back to them too.
    responses = Response.objects.filter(person_id=person_id).update(
        **RESPONSE_PERSONAL_LINKS, data={}
    )
    Invitation.objects.filter(
        person_id=person_id, state__in=[InvitationState.PLANNED, InvitationState.SENDING]
    ).update(state=InvitationState.SUPPRESSED, suppression_reason=ERASED_REASON)
    invitations = Invitation.objects.filter(person_id=person_id).update(
        person=None, event=None, message_id="", expires_at=now, data={}
    )
    return {
        "contacts": contacts.get(ContactLedger._meta.label, 0),
        "free_text_answers": free_text.get(Answer._meta.label, 0),
        "responses_unlinked": responses,
        "invitations_unlinked": invitations,
    }


def surveys_person_export(*, person_id: int, real_states: bool = False) -> dict[str, Any]:
    """The person's invitations and named responses with their answers, as JSON-ready data.

    Anonymous responses are not included: they keep no link to anyone, so they cannot be found
    from the person (and are not theirs to export). Invitations carry the state the reader is
    shown (surveys.selectors.invitations_shown): the stored one only with `real_states`
    (superusers), else an anonymous survey's answer shows once its period is published.
    Queries: invitations, responses, answers.
    """
    # An invitation of an anonymous survey says that it was answered (its state, once its period
    # is published), never when: its opened and responded times would date the answer beside
    # the period it is reported in.
    invitations = [
        {
            "id": i["id"],
            "survey": i["survey__name"],
            "channel": i["channel"],
            "state": i["shown_state"],
            "planned_at": iso(i["planned_at"]),
            "sent_at": iso(i["sent_at"]),
            "opened_at": None if i["survey__anonymous"] else iso(i["opened_at"]),
            "responded_at": None if i["survey__anonymous"] else iso(i["responded_at"]),
        }
        for i in invitations_shown(Invitation.objects.filter(person_id=person_id), real=real_states)
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
    responses = [
        {
            "id": r["id"],
            "survey": r["survey__name"],
            "channel": r["channel"],
            "language": r["language"],
            "completed_at": iso(r["completed_at"] or r["completed_on"]),
            "data": r["data"] or {},
            "answers": [],
        }
        for r in Response.objects.filter(person_id=person_id, survey__anonymous=False)
        .order_by("id")
        .values("id", "survey__name", "channel", "language", "completed_on", "completed_at", "data")
    ]
    if responses:
        by_response: dict[int, list[dict[str, Any]]] = defaultdict(list)
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
    return {"invitations": invitations, "responses": responses}


def responses_old_q(*, cutoff: dt.date) -> models.Q:
    """Responses older than `cutoff`: completed before it or, unfinished, started before it."""
    return models.Q(completed_on__lt=cutoff) | models.Q(
        completed_on__isnull=True, started_at__date__lt=cutoff
    )


def responses_apply_retention(*, today: dt.date) -> int:
    """Unlink responses older than their audience's retention from people; returns how many.

    A response is older when it was completed (or, unfinished, started) more than
    `retention_months` before `today` (audiences.selectors.retention_cutoffs). The answers and
    the completion date stay, so scores do not change. One UPDATE per audience that has a
    retention (audiences are few); a second run changes nothing.
    """
    changed = 0
    for audience_id, cutoff in retention_cutoffs(today=today):
        linked = Response.objects.filter(audience_id=audience_id).filter(
            models.Q(person__isnull=False)
            | models.Q(invitation__isnull=False)
            | models.Q(completed_at__isnull=False)
            | models.Q(started_at__isnull=False)
        )
        changed += linked.filter(responses_old_q(cutoff=cutoff)).update(**RESPONSE_PERSONAL_LINKS)
    return changed


def surveys_person_timeline(
    *, person_id: int, audience_ids: list[int] | None, real_states: bool = False, limit: int = 200
) -> dict[str, list[dict[str, Any]]]:
    """The person's latest `limit` invitations and named responses (with their answers) in the
    given audiences.

    `audience_ids=None` means every audience. Invitations carry the state the reader is shown
    (`real_states` for superusers) and, for an anonymous survey, no opened or answered time.
    Responses of anonymous surveys never appear: they hold no person, and the filter on the
    survey guards it all the same. Three queries: invitations, responses, answers.
    """
    invitations = invitations_shown(
        Invitation.objects.filter(person_id=person_id), real=real_states
    )
    responses = Response.objects.filter(person_id=person_id, survey__anonymous=False)
    if audience_ids is not None:
        invitations = invitations.filter(survey__audience_id__in=audience_ids)
        responses = responses.filter(audience_id__in=audience_ids)
    invitation_rows = []
    for i in invitations.order_by("-id").values(
        "id",
        "survey__name",
        "survey__name_translations",
        "survey__anonymous",
        "survey__audience_id",
        "channel",
        "shown_state",
        "suppression_reason",
        "planned_at",
        "due_at",
        "sent_at",
        "opened_at",
        "responded_at",
    )[:limit]:
        if i["survey__anonymous"]:
            i["opened_at"] = i["responded_at"] = None
        invitation_rows.append(i)
    response_rows = list(
        responses.order_by("-id").values(
            "id",
            "survey__name",
            "survey__name_translations",
            "audience_id",
            "channel",
            "language",
            "started_at",
            "completed_at",
            "completed_on",
            "touchpoint__name",
        )[:limit]
    )
    by_response: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if response_rows:
        for a in (
            Answer.objects.filter(response_id__in=[r["id"] for r in response_rows])
            .order_by("response_id", "question__order", "question_id")
            .values(
                "response_id",
                "question__key",
                "question__label",
                "question__type",
                "question__choices",
                "question__scale_max",
                "number",
                "text",
                "choices",
            )
        ):
            by_response[a["response_id"]].append(a)
    for r in response_rows:
        r["answers"] = by_response.get(r["id"], [])
    return {"invitations": invitation_rows, "responses": response_rows}
