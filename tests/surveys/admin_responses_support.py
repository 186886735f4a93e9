"""The response and invitation admin lists: their addresses, and an invitation for their tests."""

import datetime

from audiences.models import Channel
from surveys import tokens
from surveys.models import Invitation, InvitationState

RESPONSES = "/admin/surveys/response/"
INVITATIONS = "/admin/surveys/invitation/"
WHEN = datetime.datetime(2026, 10, 5, 14, 30, tzinfo=datetime.UTC)


def make_invitation(survey, person, **extra) -> Invitation:
    nonce = tokens.new_nonce()
    extra.setdefault("state", InvitationState.SENT)
    return Invitation.objects.create(
        survey=survey,
        person=person,
        channel=Channel.EMAIL,
        nonce=nonce,
        token_hash=tokens.token_hash(tokens.token_for(nonce)),
        **extra,
    )
