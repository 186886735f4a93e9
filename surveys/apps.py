from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from audiences.access import extend_role_permissions, register_scope
        from audiences.models import Role
        from surveys import checks  # noqa: F401  (registers the deploy check of the sender)

        # Kiosk devices belong to their public link's survey's audience; its managers run them.
        register_scope("surveys.kioskdevice", "public_link")
        extend_role_permissions(
            Role.MANAGER,
            {f"surveys.{verb}_kioskdevice" for verb in ("view", "add", "change", "delete")},
        )

        # Website intercepts show their signing secret: managers of the audience only.
        register_scope("surveys.interceptsite", "audience")
        extend_role_permissions(
            Role.MANAGER,
            {f"surveys.{verb}_interceptsite" for verb in ("view", "add", "change", "delete")},
        )
