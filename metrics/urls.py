"""Metrics dashboard pages inside the admin."""

from django.contrib import admin
from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("", admin.site.admin_view(views.index), name="index"),
    path("<slug:slug>/", admin.site.admin_view(views.audience_detail), name="audience"),
]
