from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The REST API, its keys and its webhooks: a layer over the domain apps."""

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

        from metrics.hooks import register_alert_listener
        from surveys.hooks import register_response_listener
        from xmplatform.api import listeners

        register_response_listener(listeners.response_completed)
        register_alert_listener(listeners.alert_opened)
        # Registers the Bearer scheme with drf-spectacular.
        from xmplatform.api import schema  # noqa: F401
