"""Two-step verification of password log-ins: a code from an authenticator app (TOTP).

XM_2FA (settings) says how far it goes:

- off: nobody is asked for a code.
- optional: an account with an authenticator app set up is asked for a code after its password;
  one without is offered the set-up once per log-in and may put it off.
- required: every password account must set up an app before it reaches the admin, and is then
  asked for a code at each log-in.

After the password the user is logged in but not verified; until the code is given, every page
but the code and set-up pages, log-out and the language switch sends them to the step still
owed. Accounts signed in with single sign-on are never asked: their provider verifies them.

Wrong codes are limited twice: each counts as a failed log-in for django-axes (the user name
and address are locked out after LOGIN_FAILURE_LIMIT, as for wrong passwords), and the device
itself waits 1, 2, 4 … seconds after successive wrong codes (django-otp's throttle, kept until
a right code, so a new password log-in does not restart it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

SSO_BACKEND = "xmplatform.sso.backend.SignInBackend"
# The session marks a password log-in whose optional set-up was put off.
DEFERRED_KEY = "xm_two_step_deferred"
VERIFY, SET_UP = "verify", "set_up"


def mode() -> str:
    """off, optional or required (XM_2FA)."""
    return getattr(settings, "XM_2FA", "off")


def signed_in_with_sso(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    return session is not None and session.get(BACKEND_SESSION_KEY) == SSO_BACKEND


def confirmed_device(user: Any) -> Any:
    """The user's authenticator app (a confirmed TOTP device), or None."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()


def step_owed(request: HttpRequest) -> str | None:
    """VERIFY, SET_UP or None: what this log-in still has to do before the admin."""
    current = mode()
    if current == "off":
        return None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or signed_in_with_sso(request):
        return None
    is_verified = getattr(user, "is_verified", None)
    if is_verified is not None and is_verified():
        return None
    if confirmed_device(user) is not None:
        return VERIFY
    if current == "required":
        return SET_UP
    if request.session.get(DEFERRED_KEY):
        return None
    return SET_UP


def _exempt(path: str) -> bool:
    prefixes = (
        settings.STATIC_URL,
        "/admin/sign-in/",
        "/admin/logout/",
        "/admin/jsi18n/",
        "/i18n/",
    )
    return path.startswith(prefixes)


def step_url(step: str, next_url: str) -> str:
    name = "two_step_code" if step == VERIFY else "two_step_set_up"
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


class TwoStepMiddleware:
    """Sends a log-in that owes a code (or an app set-up) to that step first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if mode() != "off" and not _exempt(request.path):
            step = step_owed(request)
            if step is not None:
                return HttpResponseRedirect(step_url(step, request.get_full_path()))
        return self.get_response(request)
