"""Top-level URL configuration."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for load balancers."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/metrics/", include("metrics.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("xmplatform.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("", include("surveys.urls")),
]
