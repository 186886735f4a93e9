"""Invitation tokens: ≥128-bit, derived with an HMAC of SECRET_KEY, stored only as a hash.

A token is HMAC-SHA256(SECRET_KEY, nonce) in URL-safe base64 (192 bits kept). The database
holds the random nonce and SHA-256(token) for lookup; neither opens a survey without the key.
"""

import base64
import binascii
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core import signing

TOKEN_CHARS = 32  # 32 base64 characters = 192 bits


def new_nonce() -> str:
    """A fresh 128-bit random nonce from the OS CSPRNG."""
    return secrets.token_hex(16)


def token_for(nonce: str) -> str:
    """The URL-safe token derived from `nonce` under the secret key."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"xm-invitation:{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode()[:TOKEN_CHARS]


def token_hash(token: str) -> str:
    """The lookup hash stored in the database."""
    return hashlib.sha256(token.encode()).hexdigest()


def issued(count: int) -> list[tuple[str, str]]:
    """`count` fresh (nonce, token hash) pairs, as new_nonce, token_for and token_hash make them.

    For bulk planning (a wave issues a million): the random bytes are drawn at once and the
    keyed HMAC state is set up once, not per token.
    """
    keyed = hmac.new(settings.SECRET_KEY.encode(), b"xm-invitation:", hashlib.sha256)
    raw = secrets.token_bytes(16 * count).hex()
    urlsafe = bytes.maketrans(b"+/", b"-_")  # base64.urlsafe_b64encode, without its overhead
    pairs = []
    for start in range(0, 32 * count, 32):
        nonce = raw[start : start + 32]
        mac = keyed.copy()
        mac.update(nonce.encode())
        token = binascii.b2a_base64(mac.digest(), newline=False).translate(urlsafe)[:TOKEN_CHARS]
        pairs.append((nonce, hashlib.sha256(token).hexdigest()))  # token_hash, on the bytes
    return pairs


def token_matches(nonce: str, token: str) -> bool:
    """Constant-time check that `token` belongs to `nonce`."""
    return hmac.compare_digest(token_for(nonce), token)


def keyed_hash(purpose: str, value: str) -> str:
    """A one-way, keyed hash for values that must not be reversible (resume and browser keys)."""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{purpose}:{value}".encode(), hashlib.sha256
    ).hexdigest()


# --- Test links: what a staff "send test to me" message links to ----------------------------

TEST_LINK_SALT = "surveys.test-link"
TEST_LINK_MAX_AGE = 14 * 24 * 3600


def test_link_for(survey_id: int) -> str:
    """A signed, expiring value that opens `survey_id` as a preview (nothing is recorded)."""
    return signing.dumps(survey_id, salt=TEST_LINK_SALT, compress=False)


def test_link_survey_id(value: str) -> int | None:
    """The survey a test-link value opens, or None when it is forged or expired."""
    try:
        survey_id = signing.loads(value, salt=TEST_LINK_SALT, max_age=TEST_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    return survey_id if isinstance(survey_id, int) else None
