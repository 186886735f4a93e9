"""The outbox in the admin: every row for inspection, and the dead letters with a retry button."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from xmplatform.core import beat_admin  # noqa: F401  (registers the beat pages in words)
from xmplatform.core.admin_guard import LookupGuardMixin
from xmplatform.core.models import DeadLetter, OutboxMessage
from xmplatform.core.outbox import outbox_retry
from xmplatform.core.paging import EstimatedCountPaginator

FIELDS = (
    "event",
    "handler",
    "payload",
    "state",
    "attempts",
    "created_at",
    "available_at",
    "done_at",
    "last_error",
)


class _ReadOnly(LookupGuardMixin, admin.ModelAdmin):
    """Rows are written by the platform only; an operator reads them and retries dead ones."""

    fields = FIELDS
    readonly_fields = FIELDS
    list_display = ("id", "event", "handler", "state", "attempts", "created_at", "available_at")
    list_filter = ("state", "event")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    ordering = ("-id",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(_ReadOnly):
    pass


@admin.register(DeadLetter)
class DeadLetterAdmin(_ReadOnly):
    list_display = ("id", "event", "error_line", "handler", "attempts", "created_at")
    # A dead letter is tried again only on a retry: its "next attempt" time means nothing.
    fields = tuple(name for name in FIELDS if name != "available_at")
    readonly_fields = fields
    list_filter = ("event",)
    actions = ["retry"]
    change_form_template = "admin/core/deadletter/change_form.html"

    @admin.display(description=_("last error"))
    def error_line(self, obj: DeadLetter) -> str:
        lines = [line for line in obj.last_error.strip().splitlines() if line.strip()]
        return lines[-1][:160] if lines else ""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Dead letters are outbox messages: the right to see those covers them.
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "core.view_outboxmessage"
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.change_outboxmessage")

    @admin.action(description=_("Retry the selected dead letters"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        count = outbox_retry(ids=queryset.values_list("id", flat=True))
        self.message_user(
            request,
            ngettext(
                "%(count)d dead letter is pending again; the relay takes it now.",
                "%(count)d dead letters are pending again; the relay takes them now.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def get_urls(self) -> list[URLPattern]:
        retry = self.admin_site.admin_view(self.retry_view)
        return [path("<int:pk>/retry/", retry, name="core_deadletter_retry"), *super().get_urls()]

    def retry_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """POST only (the button on the dead letter's page); retries this one row."""
        letter = get_object_or_404(DeadLetter, pk=pk)
        if request.method != "POST" or not self.has_retry_permission(request):
            return HttpResponseRedirect(reverse("admin:core_deadletter_change", args=[pk]))
        self.retry(request, DeadLetter.objects.filter(pk=letter.pk))
        return HttpResponseRedirect(reverse("admin:core_deadletter_changelist"))

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        context["can_retry"] = self.has_retry_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)
