"""The weekly report's public page: the one-click unsubscribe (no login; the token is signed)."""

from django.urls import path

from metrics.reports import views

app_name = "reports"
urlpatterns = [
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
