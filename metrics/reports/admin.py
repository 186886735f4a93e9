"""The weekly report's subscriptions for superusers, read-only: who gets it, in which language,
and each one's last week claimed against its last mail sent (a claim with no mail after it is a
sender that died in between). Users set their own on "My weekly report"."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audiences.access import SuperuserOnlyAdmin
from metrics.reports.models import ReportSubscription


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(SuperuserOnlyAdmin):
    list_display = ("user", "enabled", "language", "last_sent_week", "last_sent_at", "created_at")
    list_filter = ("enabled", "language")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "enabled", "language", "last_sent_week", "last_sent_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
