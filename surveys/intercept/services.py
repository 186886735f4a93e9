"""The intercept's decision: whether a visitor of a site is asked to answer its survey.

A visitor is anonymous, or signed: the site's backend gives the person's external id and
HMAC-SHA256(site secret, external id) in hex. A signed visitor who is a current member of the
site's audience gets an invitation on the `web` channel through the same fatigue guard as any
other requested invitation (surveys.distribution.ondemand.invitation_request); anyone else is
asked through the survey's public link.

What a site can learn from an answer is kept to "shown or not": the link of a member's
invitation and the link of an anonymous visitor look alike (32 URL-safe characters, see
`anonymous_ticket`), a signed id that is nobody, or somebody of another audience, is answered
like an anonymous visitor (the same link every time for the same id, as for a member), and
a suppressed member is answered like a visitor who was not sampled, with no reason. For an
anonymous survey no person is looked up at all (see `intercept_decide`).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from audiences.models import Channel
from surveys import tokens
from surveys.distribution.ondemand import invitation_request
from surveys.intercept import selectors
from surveys.intercept.models import InterceptSite, new_secret
from surveys.models import Invitation, InvitationState, SurveyStatus

# A member refused by the guard is not asked again for this long: no row per page view.
SUPPRESSED_PAUSE = datetime.timedelta(days=1)
EXTERNAL_ID_MAX = 128
_RANDOM_BYTES = 12
_MAC_BYTES = 12  # 24 bytes in all: 32 URL-safe characters, as an invitation token


class BadSignature(Exception):
    """The visitor's signature is not the site's HMAC of the external id."""


@dataclass(frozen=True)
class Decision:
    """Whether to show the survey, and the ticket of the page to frame (`show` only)."""

    show: bool
    ticket: str = ""


def signature_for(*, secret: str, external_id: str) -> str:
    """HMAC-SHA256 of `external_id` under the site's `secret`, in hex (what the site signs)."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def signature_check(*, site: InterceptSite, external_id: str, signature: str) -> None:
    """BadSignature unless `signature` signs `external_id` for `site` (constant time)."""
    expected = signature_for(secret=site.secret, external_id=external_id)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise BadSignature


def _ticket_mac(site: InterceptSite, raw: bytes) -> bytes:
    key = settings.SECRET_KEY.encode()
    message = b"xm-intercept:" + site.public_key.encode() + b":" + raw
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def anonymous_ticket(*, site: InterceptSite, external_id: str = "") -> str:
    """A ticket for an anonymous visitor of `site`: random, or the same every time for a signed
    `external_id` that is no member. Only SECRET_KEY tells it from an invitation token."""
    if external_id:
        seed = f"xm-intercept-visitor:{site.pk}:{external_id}".encode()
        raw = hmac.new(settings.SECRET_KEY.encode(), seed, hashlib.sha256).digest()
        raw = raw[:_RANDOM_BYTES]
    else:
        raw = secrets.token_bytes(_RANDOM_BYTES)
    return base64.urlsafe_b64encode(raw + _ticket_mac(site, raw)).decode()


def ticket_is_anonymous(*, site: InterceptSite, ticket: str) -> bool:
    """Whether `ticket` is one of `site`'s anonymous tickets (else it may be a token)."""
    if len(ticket) != tokens.TOKEN_CHARS:
        return False
    try:
        data = base64.urlsafe_b64decode(ticket.encode())
    except (binascii.Error, ValueError):
        return False
    raw, mac = data[:_RANDOM_BYTES], data[_RANDOM_BYTES:]
    return len(mac) == _MAC_BYTES and hmac.compare_digest(mac, _ticket_mac(site, raw))


def sampled(*, site: InterceptSite, external_id: str, now: datetime.datetime) -> bool:
    """Whether this visitor is asked: a signed visitor is drawn once a month (a stable keyed
    hash, so reloading a page does not draw again), an anonymous one at every request."""
    rate = site.sampling_rate
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    if not external_id:
        return secrets.SystemRandom().random() < rate
    draw = tokens.keyed_hash("intercept-sample", f"{site.pk}:{external_id}:{now:%Y-%m}")
    return int(draw[:13], 16) / 16**13 < rate


def _open_invitation(site: InterceptSite, person_id: int, now: datetime.datetime) -> str | None:
    """The token of the member's unanswered, unexpired web invitation to the site's survey."""
    nonce = (
        Invitation.objects.filter(
            person_id=person_id,
            survey_id=site.survey_id,
            channel=Channel.WEB,
            state__in=[InvitationState.SENT, InvitationState.OPENED],
            responded_at__isnull=True,
            expires_at__gt=now,
        )
        .order_by("-planned_at")
        .values_list("nonce", flat=True)
        .first()
    )
    return tokens.token_for(nonce) if nonce else None


def _recently_suppressed(site: InterceptSite, person_id: int, now: datetime.datetime) -> bool:
    return Invitation.objects.filter(
        person_id=person_id,
        survey_id=site.survey_id,
        channel=Channel.WEB,
        state=InvitationState.SUPPRESSED,
        planned_at__gt=now - SUPPRESSED_PAUSE,
    ).exists()


def _survey_open(site: InterceptSite, now: datetime.datetime) -> bool:
    survey = site.survey
    if survey.status != SurveyStatus.LIVE:
        return False
    if survey.opens_at is not None and survey.opens_at > now:
        return False
    return survey.closes_at is None or survey.closes_at > now


def intercept_decide(
    *, site: InterceptSite, external_id: str = "", now: datetime.datetime | None = None
) -> Decision:
    """Decide for one visitor of `site` (`external_id`: a signed one, already checked with
    `signature_check`). A member admitted by the guard gets a `web` invitation (or the one
    already open); a member refused gets a suppressed one, and none again for a day."""
    now = now or timezone.now()
    if not site.active or not _survey_open(site, now):
        return Decision(show=False)
    if not sampled(site=site, external_id=external_id, now=now):
        return Decision(show=False)
    # An anonymous survey never looks a person up: the guard's answer (a recent response, an
    # invitation of the last wave) would tell the site who answered. Its signed visitors are
    # asked through the public link, one stable ticket (so one response) per id.
    if external_id and not site.survey.anonymous:
        person = selectors.member_for_external_id(
            audience_id=site.survey.audience_id, external_id=external_id
        )
        if person is not None:
            token = _open_invitation(site, person.pk, now)
            if token is not None:
                return Decision(show=True, ticket=token)
            if _recently_suppressed(site, person.pk, now):
                return Decision(show=False)
            try:
                requested = invitation_request(
                    survey=site.survey, person=person, channel=Channel.WEB, now=now
                )
            except ValidationError:
                return Decision(show=False)
            if requested.token is None:
                return Decision(show=False)
            return Decision(show=True, ticket=requested.token)
    if selectors.public_link_for(survey_id=site.survey_id) is None:
        return Decision(show=False)
    return Decision(show=True, ticket=anonymous_ticket(site=site, external_id=external_id))


def sites_new_secret(*, site_ids: list[int]) -> int:
    """Give each of `site_ids` a new signing secret (one UPDATE per site: each its own); the
    number changed. Signatures made with the old secret are refused from now on."""
    changed = 0
    for site_id in site_ids:
        changed += InterceptSite.objects.filter(pk=site_id).update(secret=new_secret())
    return changed
