from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DriversConfig(AppConfig):
    """Key-driver analysis (part of the metrics layer, with tables of its own)."""

    name = "metrics.drivers"
    label = "drivers"
    verbose_name = _("Key drivers")
