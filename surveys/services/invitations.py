"""Invitations: created with their token, their hosted-page URL, their first opening."""

import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.urls import reverse
from django.utils import timezone

from audiences.models import Person
from journeys.models import TouchpointEvent
from surveys import tokens
from surveys.models import Invitation, InvitationState, Survey
from xmplatform.core.time import utc_day_start


@transaction.atomic
def invitation_create(
    *,
    survey: Survey,
    person: Person | None,
    channel: str,
    event: TouchpointEvent | None = None,
    due_at: datetime.datetime | None = None,
    expires_at: datetime.datetime | None = None,
    state: str = InvitationState.PLANNED,
    language: str = "",
) -> tuple[Invitation, str]:
    """Create an invitation and return it with its token (the only time the token is returned).

    The token is never stored: only the nonce it is derived from and its SHA-256.
    """
    nonce = tokens.new_nonce()
    token = tokens.token_for(nonce)
    invitation = Invitation.objects.create(
        survey=survey,
        person=person,
        channel=channel,
        event=event,
        due_at=due_at,
        expires_at=expires_at,
        state=state,
        language=language,
        nonce=nonce,
        token_hash=tokens.token_hash(token),
    )
    return invitation, token


def invitation_url(invitation: Invitation) -> str:
    """The absolute hosted-page URL of `invitation` (the token is re-derived from the nonce)."""
    token = tokens.token_for(invitation.nonce)
    return str(settings.SITE_URL) + reverse("surveys:respond", kwargs={"token": token})


def invitation_mark_opened(*, invitation: Invitation) -> None:
    """Record the first opening; a sent (or possibly sent) invitation becomes opened.

    For anonymous surveys only the day is kept: an exact time, set beside the order in which
    responses were stored, could point to which response is whose.
    """
    now = timezone.now()
    if invitation.survey.anonymous:
        now = utc_day_start(now)
    Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
        opened_at=now,
        state=Case(
            When(
                state__in=[InvitationState.SENT, InvitationState.DELIVERY_UNKNOWN],
                then=Value(InvitationState.OPENED),
            ),
            default=F("state"),
        ),
    )
