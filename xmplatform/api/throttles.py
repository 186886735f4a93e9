"""Per-key throttling in fixed one-minute windows, counted atomically in the cache (Redis)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from xmplatform.api.auth import ApiClient
from xmplatform.core import ratelimit

WINDOW_SECONDS = 60


class ApiKeyRateThrottle(BaseThrottle):
    """At most `ApiKey.rate_per_minute` requests per key per minute; 429 with Retry-After."""

    def allow_request(self, request: Request, view: Any) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return True
        rate = ratelimit.Rate(client.api_key.rate_per_minute, WINDOW_SECONDS)
        self._wait = ratelimit.hit("api-key", client.api_key.prefix, rate)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
