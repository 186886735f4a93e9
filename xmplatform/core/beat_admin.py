"""The beat schedule's admin pages (django-celery-beat) with schedules in words.

Registered again over the package's admins: lists and forms say "At 10:00, on day 1 of the
month (Europe/Istanbul)" in the reader's language where the package shows a cron line and an
English description. The package's own labels are translated through
xmplatform.core.beat_words.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from xmplatform.core.admin_guard import LookupGuardMixin
from xmplatform.core.words import crontab_in_words, periodic_task_in_words


class PeriodicTaskAdmin(LookupGuardMixin, beat.PeriodicTaskAdmin):
    """Periodic tasks, each with when it runs in words."""

    list_display = ("name", "enabled", "schedule_in_words", "start_time", "last_run_at", "one_off")
    list_select_related = ("crontab", "clocked", "interval", "solar")

    @admin.display(description=_("runs"))
    def schedule_in_words(self, obj: PeriodicTask) -> str:
        return periodic_task_in_words(obj)

    @admin.display(description=_("crontab in words"))
    def crontab_translation(self, obj: PeriodicTask) -> str:
        return crontab_in_words(obj.crontab) if obj.crontab_id else ""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "crontab" and field is not None:
            field.label_from_instance = crontab_in_words
        return field

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # The package's form shows the chosen crontab's description from this map.
        context = {
            **(extra_context or {}),
            "readable_crontabs": {c.pk: crontab_in_words(c) for c in CrontabSchedule.objects.all()},
        }
        return admin.ModelAdmin.changeform_view(self, request, object_id, form_url, context)


class CrontabScheduleAdmin(LookupGuardMixin, beat.CrontabScheduleAdmin):
    """Crontabs with their description in the reader's language."""

    list_display = ("__str__", "in_words")
    fields = (
        "in_words",
        "minute",
        "hour",
        "day_of_month",
        "month_of_year",
        "day_of_week",
        "timezone",
    )
    readonly_fields = ("in_words",)

    @admin.display(description=_("in words"))
    def in_words(self, obj: CrontabSchedule) -> str:
        return crontab_in_words(obj) if obj.pk else ""


for _model, _admin in ((PeriodicTask, PeriodicTaskAdmin), (CrontabSchedule, CrontabScheduleAdmin)):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin)
