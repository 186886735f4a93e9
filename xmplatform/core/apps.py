from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What every app may use; holds the outbox. Imports no app of the platform."""

    name = "xmplatform.core"
    label = "core"
    verbose_name = _("Platform")
    default_auto_field = "django.db.models.BigAutoField"
