"""Admin for API keys (the key is shown once, on creation) and webhooks with their delivery log."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xmplatform.api import keys, services
from xmplatform.api.models import ApiKey, Webhook, WebhookDelivery, WebhookEvent
from xmplatform.core.admin_guard import LookupGuardMixin
from xmplatform.core.paging import EstimatedCountPaginator


@admin.register(ApiKey)
class ApiKeyAdmin(LookupGuardMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "scope",
        "read_only",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("read_only", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("name", "prefix")
    filter_horizontal = ("audiences",)
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    fields = ("name", "audiences", "read_only", "rate_per_minute", *readonly_fields)
    actions = ["revoke"]

    @admin.display(description=_("audiences"))
    def scope(self, obj: ApiKey) -> str:
        return ", ".join(a.slug for a in obj.audiences.all()) or str(_("all audiences"))

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return super().get_queryset(request).prefetch_related("audiences")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        plain = services.api_key_issue(api_key=obj)
        messages.warning(
            request,
            _(
                "The new API key is %(key)s — copy it now: it is stored only as a hash and "
                "will not be shown again."
            )
            % {"key": plain},
        )

    @admin.action(description=_("Revoke the selected keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(services.api_key_revoke(api_key=k) for k in queryset)
        self.message_user(request, _("%(n)d key(s) revoked.") % {"n": revoked})


class WebhookForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Webhook
        fields = ("name", "url", "events", "active", "audience")


class DeliveryInline(admin.TabularInline):
    """The last week's deliveries; the full log is under "Webhook deliveries"."""

    model = WebhookDelivery
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = (
        "event",
        "object_id",
        "state",
        "attempts",
        "status_code",
        "error",
        "next_attempt_at",
        "delivered_at",
    )
    verbose_name_plural = _("deliveries in the last 7 days")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        since = timezone.now() - dt.timedelta(days=7)
        return super().get_queryset(request).filter(created_at__gte=since)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Webhook)
class WebhookAdmin(LookupGuardMixin, admin.ModelAdmin):
    form = WebhookForm
    list_display = ("name", "url", "active", "audience", "created_at")
    list_filter = ("active",)
    readonly_fields = ("secret", "created_at")
    inlines = [DeliveryInline]
    actions = ["rotate_secret"]

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        if not obj.secret:
            obj.secret = keys.webhook_secret_new()
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Rotate the signing secret"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            services.webhook_secret_rotate(webhook=webhook)
        self.message_user(request, _("New secrets set; update the receivers."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(LookupGuardMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "webhook",
        "event",
        "object_id",
        "state",
        "attempts",
        "status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state", "event", "webhook")
    list_select_related = ("webhook",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Retry now"), permissions=["view"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        n = services.webhook_deliveries_retry(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, _("%(n)d delivery(ies) will be retried.") % {"n": n})
