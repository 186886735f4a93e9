from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    """Text analytics of comments (part of the metrics layer, with tables of its own)."""

    name = "metrics.comments"
    label = "comments"
    verbose_name = _("Comments")
