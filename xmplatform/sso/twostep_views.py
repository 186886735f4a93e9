"""The pages of two-step verification: the code after a password, and the app set-up.

Both are reached from TwoStepMiddleware with `next`, the page the user was going to, and end
there. They look like the log-in page (its layout and styles).
"""

from __future__ import annotations

import re
import secrets
from base64 import b32encode
from binascii import unhexlify
from typing import Any

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from xmplatform.login import lockout_response
from xmplatform.sso.twostep import (
    DEFERRED_KEY,
    SET_UP,
    VERIFY,
    confirmed_device,
    mode,
    signed_in_with_sso,
    step_owed,
    step_url,
)

KEY_SESSION = "xm_two_step_key"
ADMIN_HOME = "/admin/"


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "pattern": "[0-9 ]*",
                "class": "xm-code",
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError(_("Enter the 6 digits your app shows."))
        return code


def _next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ADMIN_HOME


def _page(request: HttpRequest, template: str, status: int = 200, **context: Any) -> Any:
    return TemplateResponse(
        request,
        template,
        {**admin.site.each_context(request), "next": _next(request), **context},
        status=status,
    )


def _wait_message(locked_until: Any) -> str:
    seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
    return ngettext(
        "Too many wrong codes. Wait %(seconds)d second before the next one.",
        "Too many wrong codes. Wait %(seconds)d seconds before the next one.",
        seconds,
    ) % {"seconds": seconds}


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def code_view(request: HttpRequest) -> HttpResponse:
    """The code after the password; wrong ones count as failed log-ins (django-axes)."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("admin:login"))
    step = step_owed(request)
    if step != VERIFY:
        return HttpResponseRedirect(step_url(step, _next(request)) if step else _next(request))
    user = request.user
    device = confirmed_device(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    page = _page(request, "admin/sign_in/code.html", form=form, username=user.get_username())
    if request.method != "POST" or not form.is_valid():
        return page
    credentials = {"username": user.get_username()}
    if not AxesProxyHandler.is_allowed(request, credentials):
        logout(request)
        return lockout_response(request, page.render())
    allowed, why = device.verify_is_allowed()
    if not allowed:
        form.add_error(None, _wait_message(why["locked_until"]))
        return page
    verified = verify_token(user, device.persistent_id, form.cleaned_data["code"])
    if verified is not None:
        otp_login(request, verified)
        return HttpResponseRedirect(_next(request))
    form.add_error("code", _("That code is not right. Enter the code your app shows now."))
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        # AxesMiddleware answers with the lockout page; the half-finished log-in ends here.
        logout(request)
    return page


def _qr_svg(url: str) -> SafeString:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    label = _("QR code for your authenticator app")
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" class="xm-qr" ', 1)
    return mark_safe(svg)  # noqa: S308 - generated by qrcode from our own URL


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def set_up_view(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the QR code (or type the key), confirm with a code."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("admin:login"))
    user = request.user
    if mode() == "off" or signed_in_with_sso(request):
        return HttpResponseRedirect(_next(request))
    if confirmed_device(user) is not None:
        step = step_owed(request)
        return HttpResponseRedirect(step_url(step, _next(request)) if step else _next(request))
    can_defer = mode() == "optional"
    if request.method == "POST" and "later" in request.POST and can_defer:
        request.session[DEFERRED_KEY] = True
        return HttpResponseRedirect(_next(request))
    key = request.session.get(KEY_SESSION)
    if not key:
        key = request.session[KEY_SESSION] = secrets.token_hex(20)
    device = TOTPDevice(user=user, key=key, name=_("Authenticator app"), confirmed=False)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        totp = TOTP(unhexlify(key), device.step, device.t0, device.digits)
        if totp.verify(int(form.cleaned_data["code"]), tolerance=device.tolerance):
            device.confirmed = True
            device.last_t = totp.t()
            device.save()
            request.session.pop(KEY_SESSION, None)
            otp_login(request, device)
            messages.success(
                request,
                _(
                    "Two-step verification is set up. Each log-in will ask for a code from "
                    "your app."
                ),
            )
            return HttpResponseRedirect(_next(request))
        form.add_error(
            "code",
            _(
                "That code does not match. Check that you scanned this page's QR code and that "
                "your phone's clock is right, then enter the code your app shows now."
            ),
        )
    secret = b32encode(unhexlify(key)).decode()
    return _page(
        request,
        "admin/sign_in/set_up.html",
        form=form,
        qr=_qr_svg(device.config_url),
        secret=format_html("{}", _grouped(secret)),
        can_defer=can_defer,
        required=mode() == "required",
        username=user.get_username(),
        step=SET_UP,
    )
