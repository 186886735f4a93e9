from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """What every app may use; holds the outbox. Imports no app of the platform."""

    name = "xmplatform.core"
    label = "core"
    verbose_name = _("Platform")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.db.backends.signals import connection_created

        from xmplatform.core.search import register_sqlite_fold
        from xmplatform.core.viewer_zone import remember_at_sign_in

        # The folded search column (xmplatform.core.search) on SQLite needs it on every connection.
        connection_created.connect(register_sqlite_fold, dispatch_uid="xm_fold")
        # A session starts with the user's chosen time zone (xmplatform.core.viewer_zone).
        user_logged_in.connect(remember_at_sign_in, dispatch_uid="xm_chosen_tz")
