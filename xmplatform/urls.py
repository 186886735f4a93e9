"""Top-level URL configuration.

/healthz and /metrics are answered ahead of the URL resolver, by
xmplatform.ops.middleware.OpsEndpointsMiddleware (load balancers and scrapers address a
process by its IP, which ALLOWED_HOSTS does not list).
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/metrics/", include("metrics.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("xmplatform.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("surveys.urls")),
]
