"""Database unreachable: a translated 503 page with Retry-After, never a 500 with a traceback.

While PostgreSQL restarts or fails over, a request that needs it fails with Django's
`OperationalError` (no connection, or the server closed it) or `InterfaceError` (the
connection is already closed). That is no bug of the request: the respondent, API client or
load balancer should try again in a few seconds, and the page should say so in the reader's
language. Other database errors (a constraint, a bad query, a statement timeout) stay 500s.

The middleware answers errors raised by views and templates (`process_exception`). An error
raised by another middleware (a session saved after the view) has already become a 500 when it
reaches this one, the outermost: a `got_request_exception` receiver marks such a request, and
the 500 is replaced by the same 503. Recovery needs no restart: with CONN_HEALTH_CHECKS a
broken persistent connection is replaced at the next request.
"""

import logging
import sys
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
# PostgreSQL's SQLSTATEs for a server that is going, not yet there or full: admin_shutdown,
# crash_shutdown, cannot_connect_now ("the database system is starting up"),
# too_many_connections; class 08 is every connection exception.
_SHUTDOWN_STATES = {"57P01", "57P02", "57P03", "53300"}
_MARK = "_xm_database_unreachable"
# A 500 response's own headers that a 503 page of different content must not inherit.
_CONTENT_HEADERS = {"content-type", "content-length", "content-language", "content-encoding"}


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (as opposed to a failing query)."""
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    if cause is None:
        return False
    if type(cause).__module__.startswith("psycopg"):
        state = getattr(cause, "sqlstate", None)
        return state is None or state.startswith("08") or state in _SHUTDOWN_STATES
    # SQLite (development): a file another process holds for too long.
    return "database is locked" in str(cause)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 for `request`: JSON under /api/, else the error page (admin look under /admin/)."""
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(
        request
    )
    with translation.override(language):
        if request.path_info.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {
                    "detail": _(
                        "The service is briefly unavailable (the database cannot be reached). "
                        "Try again after the seconds given in the Retry-After header."
                    )
                },
                status=503,
            )
        else:
            # No context processor: nothing may touch the database (no user, no messages).
            body = loader.get_template("503.html").render({"request": request})
            response = HttpResponse(body, status=503)
        response.headers["Content-Language"] = translation.get_language()
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    # Logged once, by `_log` (one line, no path): Django's "Service Unavailable: <path>" would
    # add a second line naming the path, which carries the invitation token on hosted pages.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _log(exc: BaseException) -> None:
    # One line, no traceback and no path (hosted paths carry invitation tokens).
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    logger.warning("Answered 503: the database is unreachable (%s: %s).", type(exc).__name__, first)


def _remember(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """got_request_exception: mark a request whose 500 came from an unreachable database."""
    exc = sys.exc_info()[1]
    if request is not None and exc is not None and database_unreachable(exc):
        setattr(request, _MARK, exc)


got_request_exception.connect(_remember, dispatch_uid="xmplatform.core.unavailable")


class DatabaseUnavailableMiddleware:
    """Turns "database unreachable" into a 503 page with Retry-After (first in MIDDLEWARE)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        exc = getattr(request, _MARK, None)
        if exc is None or response.status_code != 500:
            return response
        _log(exc)
        unavailable = unavailable_response(request)
        # Keep what the middleware around the failing one set on the 500 (security headers).
        for name, value in response.items():
            if name.lower() not in _CONTENT_HEADERS and name not in unavailable:
                unavailable[name] = value
        unavailable.cookies = response.cookies
        return unavailable

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not database_unreachable(exception):
            return None
        _log(exception)
        return unavailable_response(request)
