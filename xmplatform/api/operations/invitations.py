"""One invitation on request for the API, through surveys.distribution.ondemand."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError

from audiences.models import AuditAction
from audiences.services import audit_record
from surveys.distribution import ondemand
from surveys.models import Invitation
from xmplatform.api import selectors
from xmplatform.api.selectors import Scope


def invitation_submit(
    *,
    scope: Scope,
    actor_name: str,
    survey: int,
    person: str,
    channel: str,
    data: dict[str, Any] | None = None,
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
                    % {"channels": ", ".join(ondemand.platform_channels())}
                ]
            }
        )
    with transaction.atomic():
        try:
            requested = ondemand.invitation_request(
                survey=found, person=who, channel=channel, data=data
            )
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
