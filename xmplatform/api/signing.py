"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the webhook's secret.

Header: `X-XM-Signature: t=<unix seconds>,v1=<hex digest>`. The README shows how a receiver
checks it; `signature_verify` is the same check in Python.
"""

import hashlib
import hmac
import time

HEADER = "X-XM-Signature"
TOLERANCE_SECONDS = 300


def signature(*, secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={signature(secret=secret, body=body, timestamp=timestamp)}"


def signature_verify(
    *, secret: str, body: bytes, header: str, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` seconds old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, body=body, timestamp=timestamp)
    return hmac.compare_digest(expected, parts.get("v1", ""))
