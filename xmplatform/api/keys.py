"""API key material: `xm_<prefix>_<secret>`, 8 + 43 URL-safe characters from the OS CSPRNG.

The prefix finds the row; only SHA-256 of the whole key is stored, so a database dump opens
nothing. The secret part alone carries 256 bits.
"""

import hashlib
import hmac
import secrets

SCHEME = "xm"
PREFIX_CHARS = 8


def key_new() -> tuple[str, str]:
    """A fresh (key, prefix)."""
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    return f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or len(parts[1]) != PREFIX_CHARS or not parts[2]:
        return None
    return parts[1]


def key_matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(key_hash(key), stored_hash)


def webhook_secret_new() -> str:
    return secrets.token_hex(32)
