from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from audiences.access import extend_role_permissions, register_scope
        from audiences.models import Role
        from surveys import checks  # noqa: F401  (registers the deploy check of the sender)

        # Public links and their kiosk devices belong to the survey's audience; its managers
        # run them (a link's admin shows its signing secret).
        register_scope("surveys.kioskdevice", "public_link")
        extend_role_permissions(
            Role.MANAGER,
            {
                f"surveys.{verb}_{model}"
                for verb in ("view", "add", "change", "delete")
                for model in ("publiclink", "kioskdevice")
            },
        )

        # Website intercepts show their signing secret: managers of the audience only.
        register_scope("surveys.interceptsite", "audience")
        extend_role_permissions(
            Role.MANAGER,
            {f"surveys.{verb}_interceptsite" for verb in ("view", "add", "change", "delete")},
        )
