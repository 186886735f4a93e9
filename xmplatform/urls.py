"""Top-level URL configuration.

/healthz and /metrics are answered ahead of the URL resolver, by
xmplatform.ops.middleware.OpsEndpointsMiddleware (load balancers and scrapers address a
process by its IP, which ALLOWED_HOSTS does not list).
"""

from django.contrib import admin
from django.urls import include, path

from xmplatform import people
from xmplatform.workspace import views as workspace
from xmplatform.workspace.your_settings import your_settings

urlpatterns = [
    path("admin/metrics/", include("metrics.urls")),
    # The person page's export reaches every app, so it is served here, at the page's side.
    path(
        "admin/audiences/person/<path:object_id>/export/",
        admin.site.admin_view(people.person_export_view),
        name="person_export",
    ),
    # A person, whole: their timeline reaches every app, so it is served beside the export.
    path(
        "admin/audiences/person/<path:object_id>/timeline/",
        admin.site.admin_view(people.person_timeline_view),
        name="person_timeline",
    ),
    # Single sign-on and two-step verification (xmplatform/sso), ahead of the admin's catch-all.
    path("admin/sign-in/", include("xmplatform.sso.urls")),
    # The signed-in user's own settings (time zone, language), from the admin's user tools.
    path("admin/your-settings/", admin.site.admin_view(your_settings), name="your_settings"),
    path("admin/", admin.site.urls),
    path("api/", include("xmplatform.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The weekly report e-mail's one-click unsubscribe: public, the token is signed.
    path("reports/", include("metrics.reports.urls")),
    path("", include("surveys.urls")),
    # The admin's "View site" link and the browsers' default icon request.
    path("", workspace.root, name="root"),
    path("favicon.ico", workspace.favicon, name="favicon"),
]
