"""Single sign-on pages: the start (a redirect to the provider) and the callback.

Both answer 404 while single sign-on is off. A sign-in that fails lands on the admin's log-in
page again with a message saying what happened, never on an error page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from xmplatform.sso import provider

ADMIN_HOME = "/admin/"


def _login_page(next_url: str | None = None) -> str:
    url = reverse("admin:login")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


class SignInStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider, with state, nonce and a PKCE challenge kept in the
    session; `next` (a local address) is where the sign-in ends."""

    get_settings = staticmethod(provider.oidc_setting)

    def __init__(self, **kwargs: Any) -> None:
        # The library reads the endpoint here; ours may come from discovery.
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        if not provider.enabled():
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider.endpoints().authorization
        except provider.ProviderUnavailable:
            messages.error(
                request, _("The sign-in service could not be reached. Try again in a few minutes.")
            )
            return HttpResponseRedirect(_login_page(request.GET.get("next")))
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        return super().get(request)


class SignInCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: the user is signed in, or sees why not."""

    get_settings = staticmethod(provider.oidc_setting)

    @property
    def success_url(self) -> str:
        return self.request.session.get("oidc_login_next") or ADMIN_HOME

    def login_failure(self) -> HttpResponse:
        request = self.request
        reason = getattr(request, "sso_failure", None)
        if request.GET.get("error"):
            reason = _("The sign-in was cancelled or refused at the sign-in service.")
        messages.error(
            request, reason or _("The sign-in could not be completed. Start again from here.")
        )
        return HttpResponseRedirect(_login_page())

    def get(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        if not provider.enabled():
            raise Http404
        try:
            return super().get(request)
        except SuspiciousOperation:
            # A callback whose state this browser did not start (replayed or forged).
            return self.login_failure()
