from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudiencesConfig(AppConfig):
    name = "audiences"
    verbose_name = _("Audiences and people")

    def ready(self) -> None:
        from audiences import checks  # noqa: F401  (registers the admin scope check)
