"""Read-only admin for rollups and published scores (the dashboard lives in metrics.views)."""

from django.contrib import admin

from metrics.models import DailyRollup, PublishedScore


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    """Rollups are written by the rollup task only."""

    list_display = ("day", "audience", "question", "touchpoint", "segment", "channel", "n")
    list_filter = ("question_type", "audience")
    date_hierarchy = "day"
    show_full_result_count = False
    list_select_related = ("audience", "question", "touchpoint")

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False


@admin.register(PublishedScore)
class PublishedScoreAdmin(admin.ModelAdmin):
    """The last value shown per slice; deleting one lets the slice publish afresh."""

    list_display = ("key", "audience", "value", "n", "published_at")
    list_filter = ("audience",)

    def has_add_permission(self, request):  # noqa: ANN001, ANN201
        return False

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False
