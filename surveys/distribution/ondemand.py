"""One invitation on request (an app showing an in-app survey, a CRM asking for one e-mail).

The same fatigue guard as planned distribution decides, under the person's row lock, so a
burst of requests for one person cannot overrun the budget. Channels the platform delivers
(e-mail, SMS, and WhatsApp once a provider is configured; one without is refused) give a
`planned` invitation that the dispatcher sends, re-checking the guard as it does for every
invitation, at once: the request owes an `invitation.due` outbox row in its transaction, whose
handler sends what is due without waiting for the beat's minute.
Channels the caller delivers itself (api, app, web) are admitted here and recorded as `sent`,
with their entry in the contact ledger.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import Channel, Consent, ConsentStatus, Membership, Person
from surveys import hidden_fields
from surveys.distribution import channels, fatigue
from surveys.distribution.planning import invitation_row
from surveys.models import (
    ContactKind,
    ContactLedger,
    Invitation,
    InvitationState,
    Survey,
    SurveyStatus,
)
from surveys.services import invitation_url
from xmplatform.core.outbox import outbox_emit

CALLER_CHANNELS = frozenset({Channel.API, Channel.APP, Channel.WEB})
DEFAULT_EXPIRY = datetime.timedelta(days=14)


def platform_channels() -> list[str]:
    """The channels the platform delivers itself and can deliver now (WhatsApp only once a
    provider is configured; see surveys.distribution.channels.backends)."""
    paths = channels.backends()
    return [c for c in Channel.values if c not in CALLER_CHANNELS and c in paths]


def available_channels() -> list[str]:
    """Every channel an invitation can be requested on now: the platform's and the caller's."""
    platform = set(platform_channels())
    return [c for c in Channel.values if c in platform or c in CALLER_CHANNELS]


@dataclass(frozen=True)
class Requested:
    """The outcome: the invitation (always recorded), its token and URL unless suppressed."""

    invitation: Invitation
    token: str | None
    url: str | None

    @property
    def suppressed(self) -> bool:
        return self.invitation.state == InvitationState.SUPPRESSED


def _reason(*, survey: Survey, person: Person, channel: str, now: datetime.datetime) -> str | None:
    """The first guard rule stopping this invitation now, or None (caller holds the lock)."""
    requires_opt_in = survey.audience.requires_opt_in
    if channel in CALLER_CHANNELS:
        status = (
            Consent.objects.filter(person=person, channel=channel)
            .values_list("status", flat=True)
            .first()
        )
        reach = fatigue.Reach(
            has_address=True,
            opted_out=status == ConsentStatus.WITHDRAWN,
            granted=status == ConsentStatus.GRANTED,
        )
    else:
        reach = (
            fatigue.reach_load([person.pk])
            .get(person.pk, {})
            .get(channel, fatigue.Reach(False, False, False))
        )
    reason = fatigue.channel_reason(reach, requires_opt_in=requires_opt_in)
    if reason:
        return reason
    pending = Invitation.objects.filter(
        person=person,
        survey=survey,
        state__in=[InvitationState.PLANNED, InvitationState.SENDING],
    ).exists()
    if pending:
        return fatigue.RECONTACT  # the same survey is already on its way
    policies = fatigue.policies_load()
    facts = fatigue.facts_load([person.pk], policies=policies, now=now)[person.pk]
    return fatigue.budget_reason(facts, policies, survey_id=survey.pk, now=now)


@transaction.atomic
def invitation_request(
    *,
    survey: Survey,
    person: Person,
    channel: str,
    now: datetime.datetime | None = None,
    data: Mapping[str, Any] | None = None,
) -> Requested:
    """Ask for one invitation of `survey` for `person` on `channel`, through the fatigue guard.

    Preconditions: the survey is live and the person is a current member of its audience, and
    `data` holds values of the survey's hidden fields only (surveys.hidden_fields.data_clean;
    ValidationError otherwise). Locks the person's row, like the dispatcher, so concurrent
    requests and batches for the same person are admitted one after the other. A suppressed
    request is recorded with the rule that stopped it.
    """
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ValidationError(
            _("Unknown channel %(channel)s; use one of: %(allowed)s.")
            % {"channel": channel, "allowed": ", ".join(Channel.values)},
            code="channel",
        )
    if channel not in CALLER_CHANNELS and channel not in channels.backends():
        raise ValidationError(
            _("No delivery is set up for %(channel)s; use one of: %(allowed)s.")
            % {"channel": channel, "allowed": ", ".join(available_channels())},
            code="channel",
        )
    if survey.status != SurveyStatus.LIVE or (
        survey.closes_at is not None and survey.closes_at <= now
    ):
        raise ValidationError(_("The survey is not live, so it cannot be sent."), code="survey")
    if not Membership.objects.filter(
        person=person, audience_id=survey.audience_id, left_on__isnull=True
    ).exists():
        raise ValidationError(
            _("The person is not a current member of the survey's audience."), code="person"
        )
    try:
        values = hidden_fields.data_clean(
            data, names=survey.hidden_fields, anonymous=survey.anonymous, person=person
        )
    except hidden_fields.HiddenDataInvalid as refusal:
        raise ValidationError(
            _("%(field)s: %(message)s") % {"field": refusal.field, "message": refusal.message},
            code="data",
        ) from refusal
    Person.objects.select_for_update().filter(pk=person.pk).values_list("pk").first()
    reason = _reason(survey=survey, person=person, channel=channel, now=now)
    invitation = invitation_row(
        survey=survey,
        person=person,
        channel=channel,
        language=person.language,
        planned_at=now,
        due_at=now,
        expires_at=now + DEFAULT_EXPIRY,
        data=values,
    )
    if reason:
        invitation.state = InvitationState.SUPPRESSED
        invitation.suppression_reason = reason
    elif channel in CALLER_CHANNELS:
        invitation.state = InvitationState.SENT
        invitation.sent_at = now
    else:
        invitation.state = InvitationState.PLANNED
    invitation.save(force_insert=True)
    if invitation.state == InvitationState.PLANNED:
        outbox_emit("invitation.due")
    if invitation.state == InvitationState.SENT:
        ContactLedger.objects.create(
            person=person,
            invitation=invitation,
            survey=survey,
            kind=ContactKind.INVITATION,
            channel=channel,
            at=now,
        )
    if reason:
        return Requested(invitation=invitation, token=None, url=None)
    from surveys import tokens

    return Requested(
        invitation=invitation,
        token=tokens.token_for(invitation.nonce),
        url=invitation_url(invitation),
    )
