"""The intercept's URLs, inside the hosted pages' namespace (surveys:intercept_…)."""

from django.urls import path

from surveys.intercept import views

urlpatterns = [
    path("intercept.js", views.script, name="intercept_script"),
    path("intercept/demo/", views.demo, name="intercept_demo"),
    path("intercept/<str:site_key>/decide", views.decide, name="intercept_decide"),
    path("intercept/<str:site_key>/s/<str:ticket>/", views.page, name="intercept_page"),
]
