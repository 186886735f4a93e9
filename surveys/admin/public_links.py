"""Public links: their code, whether they are active, and the signing of hidden field values.

A survey's hidden fields (surveys.hidden_fields) reach a public link's responses only signed
with the link's secret; the change page shows the secret and opens a page that builds signed
links. Managers of the survey's audience only: whoever holds the secret can make links that
store any values.
"""

import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin
from audiences.models import Role
from surveys import hidden_fields
from surveys.admin.kiosk import KioskDeviceInline
from surveys.models import PublicLink


def public_url(request: HttpRequest, link: PublicLink) -> str:
    return request.build_absolute_uri(reverse("surveys:public", kwargs={"slug": link.slug}))


@admin.register(PublicLink)
class PublicLinkAdmin(AudienceScopedAdmin):
    """A survey's public link; the signing secret and link builder for its hidden fields."""

    view_role = Role.MANAGER
    change_role = Role.MANAGER
    list_display = ("slug", "survey", "active", "created_at")
    list_filter = ("active",)
    list_select_related = ("survey",)
    search_fields = ("slug",)
    raw_id_fields = ("survey",)
    fields = (
        "survey",
        "slug",
        "active",
        "kiosk_thank_you_seconds",
        "kiosk_idle_seconds",
        "signing",
    )
    readonly_fields = ("signing",)
    actions = ("new_signing_secrets",)
    inlines = (KioskDeviceInline,)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"slug": secrets.token_urlsafe(9), **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, obj: PublicLink, form: Any, change: bool) -> None:
        if not obj.signing_secret:
            obj.signing_secret = hidden_fields.new_secret()
        super().save_model(request, obj, form, change)

    @admin.display(description=_("signing of hidden fields"))
    def signing(self, obj: PublicLink) -> str:
        if obj.pk is None or not obj.signing_secret:
            return gettext("Save the link to give it a signing secret.")
        names = list(obj.survey.hidden_fields or [])
        if not names:
            return gettext(
                "The survey has no hidden fields; declare them on the survey (Hidden fields) "
                "to pass values such as an order id through this link."
            )
        return format_html(
            '<p>{}</p><p><code class="xm-secret">{}</code></p><p><a href="{}">{}</a></p>',
            gettext(
                "Secret (keep it on your server): the signature is the HMAC-SHA256, in hex, of "
                "the hidden fields in name order as a query string, under this secret; "
                "the README shows how."
            ),
            obj.signing_secret,
            reverse("admin:surveys_publiclink_sign", args=[obj.pk]),
            gettext("Build a signed link"),
        )

    @admin.action(description=_("Give the selected links new signing secrets"))
    def new_signing_secrets(self, request: HttpRequest, queryset: Any) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = 0
        for link in queryset:
            PublicLink.objects.filter(pk=link.pk).update(signing_secret=hidden_fields.new_secret())
            count += 1
        self.message_user(
            request,
            gettext("%(count)d links have new secrets; links signed before no longer open.")
            % {"count": count},
            messages.SUCCESS,
        )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:link_id>/sign/",
                self.admin_site.admin_view(self.sign_view),
                name="surveys_publiclink_sign",
            )
        ]
        return own + super().get_urls()

    def sign_view(self, request: HttpRequest, link_id: int) -> HttpResponse:
        """A form with one input per hidden field; sent, it shows the signed link."""
        link = get_object_or_404(self.get_queryset(request).select_related("survey"), pk=link_id)
        if not self.has_change_permission(request, link):
            raise PermissionDenied
        names = list(link.survey.hidden_fields or [])
        form = forms.Form(request.GET or None)
        for name in names:
            form.fields[name] = forms.CharField(
                label=name, required=False, max_length=hidden_fields.VALUE_MAX_CHARS
            )
        signed, problem = "", ""
        if form.is_bound and form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if v}
            try:
                hidden_fields.data_clean(
                    values, names=names, anonymous=link.survey.anonymous, person=None
                )
            except hidden_fields.HiddenDataInvalid as refusal:
                problem = f"{refusal.field}: {refusal.message}"
            else:
                if not link.signing_secret:
                    problem = gettext("Save the link to give it a signing secret.")
                else:
                    signed = hidden_fields.signed_url(
                        public_url(request, link), secret=link.signing_secret, values=values
                    )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Build a signed link"),
            "opts": self.model._meta,
            "original": link,
            "form": form,
            "names": names,
            "signed": signed,
            "problem": problem,
        }
        return TemplateResponse(request, "admin/surveys/publiclink/sign.html", context)
