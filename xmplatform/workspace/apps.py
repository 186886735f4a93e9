from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

BRAND = "xmplatform"


class WorkspaceConfig(AppConfig):
    """The admin as the XM team's workspace: branded, navigated by work, with a home page."""

    name = "xmplatform.workspace"
    label = "workspace"
    verbose_name = _("Workspace")

    def ready(self) -> None:
        from django.contrib import admin

        site = admin.site
        site.site_header = BRAND
        site.site_title = BRAND
        site.index_title = _("Home")
        # The navigation replaces the admin's sidebar of apps (templates/admin/base_site.html).
        site.enable_nav_sidebar = False
        if not getattr(site.index, "workspace_home", False):
            # An instance attribute: `AdminSite.get_urls` wraps `self.index`.
            site.index = home_index(site.index)  # type: ignore[method-assign]


def home_index(index: Any) -> Any:
    """The admin's index view with the home's checklist and attention items in its context."""

    def view(request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        from xmplatform.workspace.home import home_context

        return index(
            request, extra_context={"home": home_context(request), **(extra_context or {})}
        )

    view.workspace_home = True  # type: ignore[attr-defined]
    return view
