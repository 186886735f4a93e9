"""The weekly report's pages: "My weekly report" in the admin (switch it on or off, choose the
language, see what it covers, send a preview) and the public one-click unsubscribe page."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from audiences.models import Audience
from metrics.closedloop.notifications import MailFailed
from metrics.reports import services
from metrics.reports.mail import user_of_token
from metrics.reports.models import ReportSubscription
from metrics.reports.selectors import visible_audiences


class SubscriptionForm(forms.Form):
    """On or off, and the language of the e-mail."""

    enabled = forms.BooleanField(label=_("Send me the weekly report"), required=False)
    language = forms.ChoiceField(label=_("Language of the e-mail"), choices=settings.LANGUAGES)


def _languages() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def report_settings(request: HttpRequest) -> HttpResponse:
    """My weekly report: any staff user, for themselves only (what it covers is their access)."""
    user: Any = request.user  # a staff user: admin_view let the request in
    subscription = ReportSubscription.objects.filter(user=user).first()
    current = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    initial = {
        "enabled": subscription.enabled if subscription else False,
        "language": subscription.language
        if subscription
        else (current if current in _languages() else settings.LANGUAGE_CODE),
    }
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        if request.POST.get("action") == "preview":
            try:
                count = services.report_preview_send(user=user, language=language)
            except services.NoAddress:
                messages.error(request, _("Your account has no e-mail address."))
            except MailFailed:
                messages.error(request, _("The mail server refused the preview; try again later."))
            else:
                messages.success(
                    request,
                    _("A preview covering %(count)s audiences was sent to %(email)s.")
                    % {"count": count, "email": user.email},
                )
        else:
            enabled = form.cleaned_data["enabled"]
            services.subscription_set(user=user, enabled=enabled, language=language)
            messages.success(
                request,
                _("The weekly report is on.") if enabled else _("The weekly report is off."),
            )
        return redirect("metrics:report_settings")
    viewed, _analysed = visible_audiences(user)
    context = {
        **admin.site.each_context(request),
        "title": _("My weekly report"),
        "form": form,
        "subscription": subscription,
        "audiences": list(Audience.objects.filter(pk__in=viewed).order_by("name", "pk")),
        "email": user.email,
    }
    return render(request, "admin/metrics/report_settings.html", context)


def _page(
    request: HttpRequest, language: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    with translation.override(language):
        response = render(
            request,
            "metrics/reports/unsubscribe.html",
            {"language": language, **context},
            status=status,
        )
    response.headers["Content-Language"] = language
    return response


@never_cache
# The signed token is the credential; mail clients post one-click unsubscribes (RFC 8058).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET) and record (POST) switching the weekly report off, without login.

    A GET changes nothing (mail scanners open links); the page's one button, or the mail
    client's List-Unsubscribe-Post, switches it off. A token this site did not sign is a 404.
    """
    fallback = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    user_id = user_of_token(token)
    subscription = (
        ReportSubscription.objects.filter(user_id=user_id).first() if user_id is not None else None
    )
    if subscription is None:
        return _page(request, fallback, {"invalid": True}, status=404)
    language = subscription.language
    done = False
    if request.method == "POST":
        services.subscription_unsubscribe(user_id=subscription.user_id)
        done = True
    return _page(
        request,
        language,
        {
            "done": done,
            "enabled": subscription.enabled and not done,
            "action_url": reverse("reports:unsubscribe", args=[token]),
            "settings_url": reverse("metrics:report_settings"),
        },
    )
