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
from surveys.services import Respondent
from surveys.validation import AnswerValue

# What a kiosk page sends: 16 to 64 URL-safe characters (a UUID, or base64 of random bytes).
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
ID_ATTEMPTS = 5


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


def kiosk_respondent(*, device: KioskDevice) -> Respondent:
    """The respondent one kiosk submission is: a new "browser" each time, under a random id.

    The public link's one-per-browser key then never joins two submissions, and nothing
    stored (the device, the submission key) derives the response's browser key.
    """
    link = device.public_link
    return Respondent(survey=link.survey, public_link=link, browser_id=services.new_browser_id())


def _claim(*, device: KioskDevice, key: str, anonymous: bool) -> KioskSubmission | None:
    """Insert the device's (device, key) row, or None when it exists (a replay).

    An anonymous survey's rows take random ids: ids in insertion order would pair them with
    the responses, whose answers are numbered in the same order.
    """
    for _attempt in range(ID_ATTEMPTS):
        submission = KioskSubmission(device=device, key=key)
        if anonymous:
            submission.pk = services.anonymous_response_id()
        try:
            with transaction.atomic():
                submission.save(force_insert=True)
            return submission
        except IntegrityError:
            # Waited for a concurrent insert of the same key, which committed: a replay.
            if KioskSubmission.objects.filter(device=device, key=key).exists():
                return None
            if not anonymous:
                raise
    raise IntegrityError("no free random id for a kiosk submission")


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
    response_answer raises, writing nothing. A key the device had accepted before is a
    replay: nothing is written and the outcome says so. The response of an anonymous survey
    is not linked to the submission (nor to the device).
    """
    respondent = kiosk_respondent(device=device)
    submission = _claim(device=device, key=key, anonymous=respondent.anonymous)
    if submission is None:
        return KioskOutcome(replay=True)
    response = services.response_answer(
        respondent=respondent,
        questions=questions,
        values=values,
        language=language,
        user_agent=user_agent,
        progress=services.Progress(response=None, answers={}),
    )
    if not respondent.anonymous:
        KioskSubmission.objects.filter(pk=submission.pk).update(response=response)
    return KioskOutcome(replay=False)
