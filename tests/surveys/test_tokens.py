"""Invitation tokens: ≥128 bits, URL-safe, never stored, checked in constant time."""

import base64
import hmac
import re

import pytest

from surveys import services, tokens
from surveys.models import Invitation
from tests.surveys.test_hosted_support import invite, make_survey

pytestmark = pytest.mark.django_db


def test_token_carries_at_least_128_bits_and_is_url_safe():
    _, token = invite(make_survey())

    assert len(token) == tokens.TOKEN_CHARS
    assert len(token) * 6 >= 128
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    # Every character is from the base64url alphabet, so it decodes to 24 bytes (192 bits).
    assert len(base64.urlsafe_b64decode(token)) == 24


def test_nonce_comes_from_128_random_bits():
    nonces = {tokens.new_nonce() for _ in range(200)}

    assert len(nonces) == 200
    assert all(len(bytes.fromhex(n)) == 16 for n in nonces)


def test_database_holds_no_token():
    invitation, token = invite(make_survey())
    stored = Invitation.objects.values().get(pk=invitation.pk)

    assert token not in {str(v) for v in stored.values()}
    assert stored["token_hash"] != token
    assert stored["token_hash"] == tokens.token_hash(token)
    assert token not in stored["nonce"]


def test_token_is_not_derivable_without_the_secret_key(settings):
    invitation, token = invite(make_survey())

    settings.SECRET_KEY = "another-secret-key-" + "y" * 40

    assert tokens.token_for(invitation.nonce) != token
    assert services.invitation_for_token(token) is None


def test_token_opens_its_invitation_and_nothing_else():
    survey = make_survey()
    first, first_token = invite(survey, external_id="p-1")
    invite(survey, external_id="p-2")

    assert services.invitation_for_token(first_token) == first
    other_last = "A" if first_token[-1] != "A" else "B"
    assert services.invitation_for_token(first_token[:-1] + other_last) is None
    assert services.invitation_for_token("") is None
    assert services.invitation_for_token("x" * 500) is None


def test_a_matching_hash_with_a_wrong_nonce_is_refused():
    invitation, token = invite(make_survey())
    Invitation.objects.filter(pk=invitation.pk).update(nonce=tokens.new_nonce())

    assert services.invitation_for_token(token) is None


def test_token_check_uses_a_constant_time_compare(monkeypatch):
    invitation, token = invite(make_survey())
    calls = []
    compare = hmac.compare_digest

    def spy(a, b):  # noqa: ANN001, ANN202
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)

    assert services.invitation_for_token(token) == invitation
    assert calls == [(token, token)]


def test_each_invitation_gets_a_different_token():
    survey = make_survey()
    tokens_seen = {invite(survey, external_id=f"p-{i}")[1] for i in range(20)}

    assert len(tokens_seen) == 20
