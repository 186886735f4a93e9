"""{% workspace_nav %}: the workspace's navigation, for every admin page that extends
admin/base_site.html (the admin's own and the custom pages alike)."""

from typing import Any

from django import template

from xmplatform.workspace.navigation import navigation_for

register = template.Library()


@register.inclusion_tag("workspace/nav.html", takes_context=True)
def workspace_nav(context: template.Context) -> dict[str, Any]:
    """The groups the request's user may open; nothing for a visitor who is not signed in."""
    request = context.get("request")
    return {
        "groups": navigation_for(request) if request is not None else [],
        "request": request,
    }
