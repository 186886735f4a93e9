"""The identity provider's endpoints: named in settings, or read from its discovery document.

The discovery document is fetched when someone signs in (never at start-up, so a provider that
is down does not stop the platform) and kept in the cache for an hour.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

WELL_KNOWN = "/.well-known/openid-configuration"
CACHE_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read."""


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    userinfo: str
    jwks: str
    issuer: str  # "" when only endpoints are configured: the ID token's issuer is then taken


# Fixed for every install: the authorization code is bound to this browser (PKCE) and the ID
# token to this sign-in (nonce); tokens are not kept in the session.
FIXED = {
    "OIDC_AUTHENTICATION_CALLBACK_URL": "sso_callback",
    "OIDC_USE_PKCE": True,
    "OIDC_USE_NONCE": True,
    "OIDC_STORE_ACCESS_TOKEN": False,
    "OIDC_STORE_ID_TOKEN": False,
    "OIDC_ALLOW_UNSECURED_JWT": False,
    "OIDC_VERIFY_KID": True,
}
DEFAULTS = {"OIDC_RP_SCOPES": "openid email profile", "OIDC_TIMEOUT": 10}


def oidc_setting(name: str, *default: Any) -> Any:
    """What mozilla-django-oidc reads as a setting, with the choices fixed above."""
    if name in FIXED:
        return FIXED[name]
    if hasattr(settings, name):
        return getattr(settings, name)
    if name in DEFAULTS:
        return DEFAULTS[name]
    if default:
        return default[0]
    raise ImproperlyConfigured(f"Setting {name} not found")


def enabled() -> bool:
    return bool(getattr(settings, "SSO_ENABLED", False))


def provider_name() -> str:
    return getattr(settings, "OIDC_PROVIDER_NAME", "")


def _discovery_url(value: str) -> str:
    value = value.rstrip("/")
    return value if value.endswith(WELL_KNOWN) else value + WELL_KNOWN


def _discovered() -> dict[str, str]:
    url = getattr(settings, "OIDC_OP_DISCOVERY_ENDPOINT", "")
    if not url:
        return {}
    url = _discovery_url(url)
    key = "sso:discovery:" + hashlib.sha256(url.encode()).hexdigest()[:32]
    document = cache.get(key)
    if document is None:
        try:
            response = requests.get(url, timeout=getattr(settings, "OIDC_TIMEOUT", 10))
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            raise ProviderUnavailable(f"{url}: {error}") from error
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url}: not a discovery document")
        cache.set(key, document, CACHE_SECONDS)
    return document


def endpoints() -> Endpoints:
    """The endpoints in use; raises ProviderUnavailable when one cannot be known."""
    document = _discovered()

    def pick(setting: str, field: str) -> str:
        value = getattr(settings, setting, "") or document.get(field, "")
        return value if isinstance(value, str) else ""

    found = Endpoints(
        authorization=pick("OIDC_OP_AUTHORIZATION_ENDPOINT", "authorization_endpoint"),
        token=pick("OIDC_OP_TOKEN_ENDPOINT", "token_endpoint"),
        userinfo=pick("OIDC_OP_USER_ENDPOINT", "userinfo_endpoint"),
        jwks=pick("OIDC_OP_JWKS_ENDPOINT", "jwks_uri"),
        issuer=document.get("issuer", "") if isinstance(document.get("issuer"), str) else "",
    )
    if not (found.authorization and found.token and found.userinfo):
        raise ProviderUnavailable("the provider names no authorization, token or userinfo endpoint")
    if not found.jwks and settings.OIDC_RP_SIGN_ALGO != "HS256":
        raise ProviderUnavailable("the provider names no JWKS endpoint")
    return found
