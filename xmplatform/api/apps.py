from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API, its keys and its webhooks: a layer over the domain apps.

    What it does when the domain changes (webhook deliveries) is wired in xmplatform/flows.py
    and run by the outbox (xmplatform.api.handlers), not registered here.
    """

    name = "xmplatform.api"
    label = "api"
    verbose_name = _("API and webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib import admin

        from xmplatform.core.admin_guard import lock_down

        # Every app's admin module has registered by now, third-party ones included: admin
        # autodiscovery runs in django.contrib.admin's ready(), which comes first.
        lock_down(admin.site)

        # Registers the Bearer scheme with drf-spectacular.
        from xmplatform.api import schema  # noqa: F401
