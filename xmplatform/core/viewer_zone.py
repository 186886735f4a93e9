"""The viewer's time zone: dates and times in the admin are shown where the reader is.

The zone, first found first: the one the signed-in user chose on "Your settings"
(core.UserSettings); the one the browser names (IANA, e.g. Europe/Istanbul) in the `xm_tz`
cookie (static core/viewer-tz.js); settings.TIME_ZONE. A name the IANA database does not know is
ignored. This middleware activates it for the request, so the admin's lists, forms and "as of"
lines use it. Reporting days stay the organisation's (xmplatform.core.time.local_day_start): a
reader's zone moves how a moment is shown, never which answers a day holds.

The user's choice is copied into their session when they sign in and when they save it, so a
request reads it with the session it loads anyway: no query per page. Another browser already
signed in picks a change up at its next sign-in.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import unquote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

COOKIE = "xm_tz"
# The user's chosen zone in their session ("" = the browser's), see the module's docstring.
SESSION_KEY = "xm_chosen_tz"


@cache
def known_zones() -> frozenset[str]:
    """Every name the IANA database knows (less the "localtime" alias of the server's zone)."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone called `name`, when the IANA database knows it."""
    if not name or len(name) > 64 or name not in known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


def browser_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the request's cookie names, when the IANA database knows it."""
    # The script writes the name URL-encoded (Europe%2FIstanbul); Django does not decode it.
    return zone_named(unquote(request.COOKIES.get(COOKIE, "")[:200]))


def chosen_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The zone the signed-in user chose, as their session holds it (None: the browser's)."""
    session = getattr(request, "session", None)
    # No session cookie: nobody is signed in, and the session need not be loaded.
    if session is None or session.session_key is None:
        return None
    name = session.get(SESSION_KEY)
    return zone_named(name) if isinstance(name, str) else None


def viewer_zone(request: HttpRequest) -> zoneinfo.ZoneInfo | None:
    """The user's chosen zone, else the browser's; None: settings.TIME_ZONE applies."""
    return chosen_zone(request) or browser_zone(request)


def remember_chosen_zone(session: Any, name: str) -> None:
    """Copy the user's chosen zone name ("" = the browser's) into their session."""
    session[SESSION_KEY] = name


def remember_at_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """user_logged_in receiver: the session starts with the user's chosen zone.

    Every way in (password, single sign-on, a test's force_login) ends in auth.login, which
    sends the signal after the session was renewed; one query, once per sign-in.
    """
    if request is None or getattr(request, "session", None) is None:
        return
    from xmplatform.core.user_settings import user_time_zone  # it imports this module

    remember_chosen_zone(request.session, user_time_zone(user_id=user.pk))


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
