from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self) -> None:
        from audiences.access import extend_role_permissions, register_scope
        from audiences.models import Role
        from surveys import checks  # noqa: F401  (registers the deploy check of the sender)

        # Website intercepts show their signing secret: managers of the audience only.
        register_scope("surveys.interceptsite", "audience")
        extend_role_permissions(
            Role.MANAGER,
            {f"surveys.{verb}_interceptsite" for verb in ("view", "add", "change", "delete")},
        )
