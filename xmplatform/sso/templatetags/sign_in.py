"""`{% sign_in_options %}`: what the log-in page offers besides the password (single sign-on)."""

from typing import Any

from django import template

from xmplatform.sso import provider

register = template.Library()


@register.simple_tag
def sign_in_options() -> dict[str, Any]:
    """{"sso": bool, "provider": name or ""} for the log-in page."""
    return {"sso": provider.enabled(), "provider": provider.provider_name()}
