"""Single sign-on accounts in the admin: who signed in through the provider, with which groups
(read only; superusers)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audiences.access import SuperuserOnlyAdmin
from xmplatform.sso.models import SsoIdentity


@admin.register(SsoIdentity)
class SsoIdentityAdmin(SuperuserOnlyAdmin):
    list_display = ("user", "subject", "groups", "last_sign_in", "created_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "groups", "created_at", "last_sign_in")
    ordering = ("-last_sign_in",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
