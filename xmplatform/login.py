"""Admin log-in attempts, limited with django-axes (configured in settings, `AXES_*`).

After `AXES_FAILURE_LIMIT` failed log-ins for one user name from one client address, that pair
is locked out for `AXES_COOLOFF_TIME` after its last attempt: even the right password is then
refused with the lockout page (HTTP 429). Other users on the same address, and the same user
from another address, are not affected. A successful log-in clears the pair's failures.

The client address is the one the rate limits and the DRF throttles see
(`xmplatform.core.ratelimit.client_ip`, trusting NUM_PROXIES proxies). API keys do not go through
Django's authentication and are not counted here.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import ngettext

from xmplatform.core.ratelimit import client_ip


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the rate limits see it, or None when it is not an IP address
    (axes stores it in an address column)."""
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


class LoginAttemptsBackend(AxesStandaloneBackend):
    """Axes' check before the password backends, for log-ins that come with a request.

    `authenticate()` without a request (the test client's `login()`, a shell script) has no
    client address to count by: it is left to the other backends instead of failing.
    """

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_message(request: HttpRequest | None = None) -> str:
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0
    return ngettext(
        "Too many failed log-ins for this user from your address. Logging in is locked for "
        "%(minutes)d minute after the last attempt; try again later.",
        "Too many failed log-ins for this user from your address. Logging in is locked for "
        "%(minutes)d minutes after the last attempt; try again later.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The log-in page again with the lockout message in place of the usual error (429).

    The admin's log-in view answers with a TemplateResponse whose form holds the failed
    attempt; it is rendered again with the message, so the page keeps its layout and `next`.
    """
    message = lockout_message(request)
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(original_response, TemplateResponse) and form is not None:
        form.errors[NON_FIELD_ERRORS] = form.error_class([message], error_class="nonfield")
        page = TemplateResponse(
            request, original_response.template_name, context, status=429
        ).render()
    else:
        page = HttpResponse(message, content_type="text/plain; charset=utf-8", status=429)
    cool_off = get_cool_off(request)
    if cool_off:
        page["Retry-After"] = str(int(cool_off.total_seconds()))
    return page
