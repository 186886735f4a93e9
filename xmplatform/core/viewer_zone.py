"""The viewer's time zone: dates and times in the admin are shown where the reader is.

The browser names its zone (IANA, e.g. Europe/Istanbul) in the `xm_tz` cookie
(static core/viewer-tz.js); this middleware activates it for the request, so the admin's
lists, forms and "as of" lines use it. Without the cookie, or with a name the IANA database
does not know, settings.TIME_ZONE applies. Reporting days stay the organisation's
(xmplatform.core.time.local_day_start): a reader's zone moves how a moment is shown, never
which answers a day holds.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "xm_tz"


@cache
def _known() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def viewer_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the request's cookie names, when the IANA database knows it."""
    name = request.COOKIES.get(COOKIE, "")
    if not name or len(name) > 64 or name not in _known():
        return None
    return zoneinfo.ZoneInfo(name)


class ViewerTimeZoneMiddleware:
    """Activate the viewer's time zone for one request (the default zone otherwise)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = viewer_zone(request)
        if zone is None:
            timezone.deactivate()
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
