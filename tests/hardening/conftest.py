"""Fixtures for the hardening tests: rate limits switched on with small, known limits."""

import secrets

import pytest

from xmplatform.core import ratelimit
from xmplatform.core.ratelimit import Rate

# One fixed instant, in the middle of an hour window: a test never straddles two windows.
FIXED_NOW = 1_800_001_800.0


@pytest.fixture
def limits(settings, monkeypatch):  # noqa: ANN001, ANN201
    """Rate limits on: 3 per link, 5 per address, 3 misses per address, all per hour."""
    monkeypatch.setattr(ratelimit, "_now", lambda: FIXED_NOW)
    settings.RATE_LIMIT_ENABLED = True
    settings.HOSTED_RATE_LIMITS = {
        "ip": Rate(5, 3600),
        "link": Rate(3, 3600),
        "miss": Rate(3, 3600),
    }
    return settings.HOSTED_RATE_LIMITS


@pytest.fixture
def address() -> str:
    """A client address of this test's own: counters in a shared Redis never carry over."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
