"""Per-key throttling in fixed one-minute windows, counted atomically in the cache (Redis)."""

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from xmplatform.api.auth import ApiClient

WINDOW_SECONDS = 60


class ApiKeyRateThrottle(BaseThrottle):
    """At most `ApiKey.rate_per_minute` requests per key per minute; 429 with Retry-After."""

    def allow_request(self, request: Request, view: Any) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return True
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        key = f"api:throttle:{client.api_key.prefix}:{window}"
        # add() then incr() is atomic on Redis (and on the local-memory cache).
        cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
        try:
            used = cache.incr(key)
        except ValueError:  # evicted between add and incr: start the window again
            cache.set(key, 1, timeout=WINDOW_SECONDS + 5)
            used = 1
        self._wait = (window + 1) * WINDOW_SECONDS - now
        return used <= client.api_key.rate_per_minute

    def wait(self) -> float:
        return max(1.0, self._wait)
