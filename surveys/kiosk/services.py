"""Kiosk devices: issued a token, found by it, revoked; and a kiosk's submission, accepted once.

A device token is 192 bits from the OS CSPRNG, shown once in the device's setup link and
stored only as a keyed hash. A submission carries a key the kiosk page drew at random; the
device's (device, key) row is inserted in the same transaction as the response, so the same
submission sent twice, also at the same moment from two connections, makes one response: the
second insert waits for the first transaction and then fails on the unique constraint.
"""

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from surveys import services, tokens
from surveys.kiosk.models import KioskDevice, KioskSubmission
from surveys.models import PublicLink, Question
from surveys.services import AlreadyResponded, Respondent
from surveys.validation import AnswerValue

# What a kiosk page sends: 16 to 64 URL-safe characters (a UUID, or base64 of random bytes).
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _token_hash(token: str) -> str:
    return tokens.keyed_hash("kiosk-device", token)


def kiosk_device_issue(*, device: KioskDevice) -> str:
    """Give `device` a fresh token, save it, and return the token (it is stored only hashed).

    A device issued again stops working with its old token: its old setup link is void.
    """
    token = secrets.token_urlsafe(24)
    device.token_hash = _token_hash(token)
    device.save()
    return token


def kiosk_device_revoke(*, devices: QuerySet[KioskDevice]) -> int:
    """Revoke `devices` (those not revoked yet); their kiosk pages refuse at the next request."""
    return devices.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def kiosk_device_for_token(*, public_link: PublicLink, token: str) -> KioskDevice | None:
    """The active device of `public_link` whose token `token` is, or None (one query)."""
    if not token or len(token) > 64:
        return None
    return KioskDevice.objects.filter(
        public_link=public_link, token_hash=_token_hash(token), revoked_at__isnull=True
    ).first()


def submission_key_valid(key: str) -> bool:
    return bool(SUBMISSION_KEY.fullmatch(key))


@dataclass(frozen=True)
class KioskOutcome:
    """What became of a submission: recorded now, or a replay of one recorded before."""

    replay: bool


def kiosk_respondent(*, device: KioskDevice, key: str) -> Respondent:
    """The respondent one kiosk submission is: a new "browser" per (device, key).

    The public link's unique (link, browser key) then holds one response per submission,
    where a browser's cookie holds one per browser.
    """
    link = device.public_link
    return Respondent(survey=link.survey, public_link=link, browser_id=f"kiosk:{device.pk}:{key}")


@transaction.atomic
def kiosk_submit(
    *,
    device: KioskDevice,
    key: str,
    questions: Sequence[Question],
    values: Mapping[str, AnswerValue],
    language: str,
    user_agent: str = "",
) -> KioskOutcome:
    """Record one kiosk submission (clean `values` of all its questions) exactly once.

    Preconditions: `device` is active and `key` passed submission_key_valid. Raises what
    response_answer raises but AlreadyResponded, writing nothing. A key the device had
    accepted before is a replay: nothing is written and the outcome says so. The response of
    an anonymous survey is not linked to the submission (nor to the device).
    """
    try:
        with transaction.atomic():
            submission = KioskSubmission.objects.create(device=device, key=key)
    except IntegrityError:
        return KioskOutcome(replay=True)
    respondent = kiosk_respondent(device=device, key=key)
    try:
        response = services.response_answer(
            respondent=respondent,
            questions=questions,
            values=values,
            language=language,
            user_agent=user_agent,
            progress=services.Progress(response=None, answers={}),
        )
    except AlreadyResponded:
        # The same submission recorded before this device's row existed: still one response.
        return KioskOutcome(replay=True)
    if not respondent.anonymous:
        KioskSubmission.objects.filter(pk=submission.pk).update(response=response)
    return KioskOutcome(replay=False)
