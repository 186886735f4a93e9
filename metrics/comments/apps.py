"""Text analytics of comments in Turkish and English: stemming, topics, sentiment and search,
computed on the platform's own machines."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommentsConfig(AppConfig):
    """Text analytics of comments (part of the metrics layer, with tables of its own)."""

    name = "metrics.comments"
    label = "comments"
    verbose_name = _("Comments")

    def ready(self) -> None:
        from audiences.access import extend_role_permissions, register_scope
        from audiences.models import Role

        # Topics belong to their survey's audience; analysts see them, managers shape them.
        register_scope("comments.topic", "survey")
        extend_role_permissions(Role.ANALYST, {"comments.view_topic"})
        extend_role_permissions(
            Role.MANAGER, {"comments.add_topic", "comments.change_topic", "comments.delete_topic"}
        )
