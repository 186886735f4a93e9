"""Sign-in pages, under /admin/sign-in/ (the provider's redirect URI is …/sso/callback/)."""

from django.urls import path

from xmplatform.sso import twostep_views, views

urlpatterns = [
    path("sso/", views.SignInStartView.as_view(), name="sso_start"),
    path("sso/callback/", views.SignInCallbackView.as_view(), name="sso_callback"),
    path("code/", twostep_views.code_view, name="two_step_code"),
    path("set-up/", twostep_views.set_up_view, name="two_step_set_up"),
]
