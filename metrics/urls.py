"""Metrics dashboard pages inside the admin."""

from django.apps import apps
from django.contrib import admin
from django.urls import path, register_converter

from metrics import ex_cx, views
from metrics.comments import views as comment_views
from metrics.drivers import views as driver_views
from metrics.reports import views as report_views


class AudienceSlugConverter:
    """An audience slug that is not one of the metrics models the admin serves at the same level.

    The dashboard lives at /admin/metrics/<audience>/, so without this /admin/metrics/case/
    (the admin's case list) would be taken for an audience called "case".
    """

    models = "|".join(m._meta.model_name for m in apps.get_app_config("metrics").get_models())
    regex = rf"(?!(?:{models})(?:/|$))[-a-zA-Z0-9_]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AudienceSlugConverter, "audience_slug")

app_name = "metrics"
urlpatterns = [
    path("", admin.site.admin_view(views.index), name="index"),
    # Two segments: never taken for an audience's slug.
    path(
        "reports/weekly/",
        admin.site.admin_view(report_views.report_settings),
        name="report_settings",
    ),
    # Before the audience route, which would take "ex-cx" for an audience's slug.
    path("ex-cx/", admin.site.admin_view(ex_cx.page), name="ex_cx"),
    path("<audience_slug:slug>/", admin.site.admin_view(views.audience_detail), name="audience"),
    path(
        "<audience_slug:slug>/topics/",
        admin.site.admin_view(comment_views.topics_page),
        name="topics",
    ),
    path(
        "<audience_slug:slug>/drivers/",
        admin.site.admin_view(driver_views.drivers_page),
        name="drivers",
    ),
]
