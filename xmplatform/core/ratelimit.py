"""Fixed-window request counters kept in Django's cache (Redis in production).

Each counter is one cache key per window, bumped with the cache's `incr` (Redis INCR: atomic
across web processes and machines). The embedded local-memory cache counts per process only,
which is enough for a single development server. If the cache is down, requests are let
through (fail open) and the outage is logged in one line, at most once a minute per process
while it lasts: a broken Redis must not take the survey pages with it, nor flood the log.

`hit_all` applies several limits to one request; on Redis it is one server-side script, so a
hosted page pays one round trip for all its limits instead of two to three per limit.
"""

import hashlib
import logging
import re
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from redis.commands.core import Script
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    """At most `count` requests per `seconds`."""

    count: int
    seconds: int


@dataclass(frozen=True)
class Limit:
    """One counter to apply to a request; `counts=False` only reads it (see `exceeded`)."""

    scope: str
    ident: str
    rate: Rate | None
    counts: bool = True


def parse_rate(text: str, *, setting: str) -> Rate | None:
    """`"600/m"`, `"30/10m"` or `"off"`; anything else fails with a message naming `setting`."""
    if text.strip().lower() in ("off", "none", ""):
        return None
    match = RATE_RE.match(text)
    if not match or int(match.group(1)) < 1:
        raise ImproperlyConfigured(
            f"{setting}={text!r} is not a rate. Write requests per period, e.g. 600/m, 30/10m "
            "or 1000/h (units s, m, h, d), or 'off' to switch the limit off."
        )
    return Rate(int(match.group(1)), int(match.group(2) or 1) * UNITS[match.group(3)])


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the address NUM_PROXIES trusted proxies saw."""
    proxies = settings.NUM_PROXIES
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            return forwarded[-min(proxies, len(forwarded))]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _now() -> float:
    return time.time()


class _OutageLog:
    """One warning line when the cache fails, then at most one a minute while it stays down."""

    EVERY = 60.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: float | None = None
        self._skipped = 0

    def failed(self, scopes: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            if self._last is not None and now - self._last < self.EVERY:
                self._skipped += 1
                return
            skipped, self._skipped, self._last = self._skipped, 0, now
        more = f" ({skipped} more since the last line)" if skipped else ""
        logger.warning(
            "Rate limits %s not counted: the cache is unavailable (%s: %s); requests are let "
            "through%s.",
            scopes,
            type(exc).__name__,
            str(exc).splitlines()[0] if str(exc) else "",
            more,
        )

    def recovered(self) -> None:
        """A counter worked: the next failure is a new outage and logs at once."""
        if self._last is not None:
            with self._lock:
                self._last, self._skipped = None, 0


_outage = _OutageLog()


def _key(scope: str, ident: str, rate: Rate, now: float) -> str:
    # Identifiers may be secrets (invitation tokens): only their hash reaches the cache.
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{int(now) // rate.seconds}"


def _retry_after(rate: Rate, now: float) -> int:
    return max(1, rate.seconds - int(now) % rate.seconds)


def hit(scope: str, ident: str, rate: Rate | None) -> int | None:
    """Count one request; the seconds to wait when it is over the limit, else None."""
    if rate is None:
        return None
    now = _now()
    key = _key(scope, ident, rate, now)
    try:
        try:
            count = cache.incr(key)
        except ValueError:  # first request of the window
            count = 1 if cache.add(key, 1, timeout=rate.seconds + 1) else cache.incr(key)
    except (RedisError, OSError) as exc:
        _outage.failed(scope, exc)
        return None
    _outage.recovered()
    return _retry_after(rate, now) if count > rate.count else None


def exceeded(scope: str, ident: str, rate: Rate | None) -> int | None:
    """Like `hit`, without counting: the seconds to wait if the limit is already reached."""
    if rate is None:
        return None
    now = _now()
    try:
        count = cache.get(_key(scope, ident, rate, now), 0)
    except (RedisError, OSError) as exc:
        _outage.failed(scope, exc)
        return None
    _outage.recovered()
    return _retry_after(rate, now) if count >= rate.count else None


# KEYS are the counters' cache keys; ARGV holds limit, window and counts (1/0) per key. Returns
# the 1-based position of the first limit reached (the later ones are then left untouched, as
# with chained hit/exceeded calls), or 0.
_HIT_ALL_SCRIPT = """
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[3 * i - 2])
    if ARGV[3 * i] == "1" then
        local count = redis.call("INCR", key)
        if count == 1 then
            redis.call("EXPIRE", key, tonumber(ARGV[3 * i - 1]) + 1)
        end
        if count > limit then
            return i
        end
    elseif tonumber(redis.call("GET", key) or "0") >= limit then
        return i
    end
end
return 0
"""


_scripts: "weakref.WeakKeyDictionary[Any, Script]" = weakref.WeakKeyDictionary()


def _hit_all_script(backend: RedisCache) -> Script:
    """The script bound to a client of `backend`'s own pool, made once per backend instance.

    Django's backend builds a new Redis client object for every command (costly in redis-py);
    one kept per backend (caches are per thread) serves every request of that thread.
    """
    pools = backend._cache  # Django names no public accessor for the backend's client
    script = _scripts.get(pools)
    if script is None:
        script = pools.get_client(write=True).register_script(_HIT_ALL_SCRIPT)
        _scripts[pools] = script
    return script


def hit_all(*limits: Limit) -> int | None:
    """Apply `limits` in order, like chained `hit`/`exceeded` calls: the seconds to wait for
    the first one reached (the later ones are then not counted), else None."""
    active = [(limit, limit.rate) for limit in limits if limit.rate is not None]
    if not active:
        return None
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        for limit, rate in active:
            wait = (hit if limit.counts else exceeded)(limit.scope, limit.ident, rate)
            if wait:
                return wait
        return None
    now = _now()
    keys = [backend.make_and_validate_key(_key(li.scope, li.ident, r, now)) for li, r in active]
    args = [value for li, r in active for value in (r.count, r.seconds, int(li.counts))]
    try:
        reached = int(_hit_all_script(backend)(keys=keys, args=args))
    except (RedisError, OSError) as exc:
        _outage.failed(", ".join(limit.scope for limit, _rate in active), exc)
        return None
    _outage.recovered()
    return _retry_after(active[reached - 1][1], now) if reached else None
