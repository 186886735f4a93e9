"""Kiosk devices of public links: registered with a setup link shown once, revoked, set up anew.

Managers of the survey's audience only. Nothing here says when or how often a device was used:
an anonymous survey's kiosk answers are tied to no device (surveys.kiosk.services).
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audiences.access import AudienceScopedAdmin, ScopedInline
from audiences.models import Role
from surveys.kiosk.models import KioskDevice
from surveys.kiosk.services import kiosk_device_issue, kiosk_device_revoke


def _announce_setup_link(request: HttpRequest, device: KioskDevice, token: str) -> None:
    url = request.build_absolute_uri(
        reverse("surveys:kiosk_setup", kwargs={"slug": device.public_link.slug, "token": token})
    )
    messages.warning(
        request,
        format_html(
            "{} <code class='xm-secret'>{}</code>",
            gettext(
                "Open this setup link on the device “%(name)s” (it is shown only this once; "
                "whoever has it can answer as the kiosk until it is revoked):"
            )
            % {"name": device.name},
            url,
        ),
    )


class KioskDeviceInline(ScopedInline, admin.TabularInline):
    """A public link's kiosk devices; added and revoked on the kiosk devices' own pages (the
    setup link is shown once, when a device is added there)."""

    model = KioskDevice
    view_role = Role.MANAGER
    fields = ("name", "created_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    max_num = 0  # no add row here
    can_delete = False
    show_change_link = True


@admin.register(KioskDevice)
class KioskDeviceAdmin(AudienceScopedAdmin):
    """The kiosk devices of the public links of the user's audiences, with revoke."""

    view_role = Role.MANAGER
    change_role = Role.MANAGER
    list_display = ("name", "public_link", "survey", "created_at", "revoked_at")
    list_filter = ("public_link",)
    list_select_related = ("public_link__survey",)
    search_fields = ("name",)
    raw_id_fields = ("public_link",)
    fields = ("public_link", "name", "created_at", "revoked_at")
    readonly_fields = ("created_at", "revoked_at")
    actions = ("revoke", "set_up_again")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A device stays with its link: a tablet moved elsewhere is a new device.
        return (*self.readonly_fields, "public_link") if obj is not None else self.readonly_fields

    @admin.display(description=_("survey"))
    def survey(self, obj: KioskDevice) -> Any:
        return obj.public_link.survey

    def save_model(self, request: HttpRequest, obj: KioskDevice, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        _announce_setup_link(request, obj, kiosk_device_issue(device=obj))

    @admin.action(description=_("Revoke the selected devices"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[KioskDevice]) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        count = kiosk_device_revoke(devices=queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d device revoked; its kiosk page no longer takes answers.",
                "%(count)d devices revoked; their kiosk pages no longer take answers.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Give the selected devices new setup links"))
    def set_up_again(self, request: HttpRequest, queryset: QuerySet[KioskDevice]) -> None:
        if not self.has_change_permission(request):
            raise PermissionDenied
        for device in queryset.filter(revoked_at__isnull=True).select_related("public_link"):
            _announce_setup_link(request, device, kiosk_device_issue(device=device))
