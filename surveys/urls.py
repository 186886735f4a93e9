"""Hosted survey pages."""

from django.urls import include, path

from surveys import views
from surveys.kiosk import views as kiosk

app_name = "surveys"
urlpatterns = [
    path("s/preview/<int:survey_id>/", views.preview, name="preview"),
    path("s/logo/<str:sha256>/", views.logo, name="logo"),
    path("s/test/<str:signed>/", views.test_link, name="test_link"),
    path("s/test/<str:signed>/optout/", views.test_optout, name="test_optout"),
    path("s/<str:token>/", views.respond, name="respond"),
    path("s/<str:token>/optout/", views.optout, name="optout"),
    path("p/<str:slug>/", views.public, name="public"),
    path("p/<str:slug>/kiosk/", kiosk.kiosk, name="kiosk"),
    path("p/<str:slug>/kiosk/sw.js", kiosk.kiosk_worker, name="kiosk_worker"),
    path("p/<str:slug>/kiosk/setup/<str:token>/", kiosk.kiosk_setup, name="kiosk_setup"),
    # Website and in-app intercept (surveys.intercept): the script, decide, framed pages.
    path("", include("surveys.intercept.urls")),
]
