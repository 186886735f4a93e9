"""Sign-in settings read from the environment (imported by settings.py, before apps load).

Single sign-on is on when OIDC_RP_CLIENT_ID is set. The provider is found through its discovery
document (OIDC_OP_DISCOVERY_ENDPOINT, the issuer's URL or its
`/.well-known/openid-configuration`), or named endpoint by endpoint (OIDC_OP_AUTHORIZATION_ENDPOINT,
OIDC_OP_TOKEN_ENDPOINT, OIDC_OP_USER_ENDPOINT, OIDC_OP_JWKS_ENDPOINT); an endpoint named
explicitly wins over the discovered one.

OIDC_GROUP_GRANTS maps the provider's groups (the OIDC_GRANTS_CLAIM claim, "groups" by default)
to audience grants: `group=audience-slug:role`, comma-separated, e.g.
`xm-hr=employees:manager,xm-cx=customers:viewer`. A group may name several audiences
(`xm-leads=employees:viewer,xm-leads=customers:viewer`).

XM_2FA is off, optional or required: two-step verification of password accounts.

Bad values raise ImproperlyConfigured at start-up with a message that says what to fix.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# Role names an administrator may write, and the role (audiences.models.Role) each one means.
ROLE_NAMES = {
    "viewer": "viewer",
    "view": "viewer",
    "analyst": "analyst",
    "analyse": "analyst",
    "analyze": "analyst",
    "manager": "manager",
    "manage": "manager",
}
TWO_STEP_MODES = ("off", "optional", "required")
SIGN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256")
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def parse_group_grants(value: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """`group=slug:role,…` as {group: ((slug, role name), …)}; ImproperlyConfigured if malformed."""
    grants: dict[str, dict[str, str]] = {}
    rank = {"viewer": 1, "analyst": 2, "manager": 3}
    for item in filter(None, (part.strip() for part in value.split(","))):
        group, equals, target = item.rpartition("=")
        slug, colon, role = target.partition(":")
        group, slug, role = group.strip(), slug.strip(), role.strip().lower()
        if not (equals and colon and group and _SLUG.match(slug) and role in ROLE_NAMES):
            raise ImproperlyConfigured(
                f"OIDC_GROUP_GRANTS: {item!r} is not group=audience-slug:role; the role is "
                "viewer, analyst or manager, e.g. xm-hr=employees:manager,xm-cx=customers:viewer."
            )
        role = ROLE_NAMES[role]
        held = grants.setdefault(group, {})
        if rank[role] > rank.get(held.get(slug, ""), 0):
            held[slug] = role
    return {group: tuple(sorted(held.items())) for group, held in grants.items()}


def sign_in_settings(env: Any) -> dict[str, Any]:
    """The settings single sign-on and two-step verification read, from the environment."""
    two_step = env.str("XM_2FA", default="off").strip().lower() or "off"
    if two_step not in TWO_STEP_MODES:
        raise ImproperlyConfigured(
            f"XM_2FA={two_step!r}: use off, optional (password accounts may set up an "
            "authenticator app) or required (they must)."
        )
    values: dict[str, Any] = {
        "XM_2FA": two_step,
        # Codes from an authenticator app: the issuer the app shows, and a delay that doubles
        # after each wrong code (1, 2, 4 … seconds, kept on the device until a right one).
        "OTP_TOTP_ISSUER": env.str("XM_2FA_ISSUER", default="xmplatform"),
        "OTP_TOTP_THROTTLE_FACTOR": 1,
    }
    client_id = env.str("OIDC_RP_CLIENT_ID", default="").strip()
    values["SSO_ENABLED"] = bool(client_id)
    if not client_id:
        return values

    endpoints = {
        name: env.str(name, default="").strip()
        for name in (
            "OIDC_OP_DISCOVERY_ENDPOINT",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_USER_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
    }
    algorithm = env.str("OIDC_RP_SIGN_ALGO", default="RS256").strip().upper()
    secret = env.str("OIDC_RP_CLIENT_SECRET", default="")
    needed = ["OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_USER_ENDPOINT"]
    if algorithm != "HS256":
        needed.append("OIDC_OP_JWKS_ENDPOINT")
    missing = [name for name in needed if not endpoints[name]]
    if not secret:
        raise ImproperlyConfigured(
            "OIDC_RP_CLIENT_ID is set but OIDC_RP_CLIENT_SECRET is not: both come from the "
            "identity provider's registration of xmplatform (leave both unset for no single "
            "sign-on)."
        )
    if missing and not endpoints["OIDC_OP_DISCOVERY_ENDPOINT"]:
        raise ImproperlyConfigured(
            "Single sign-on needs the provider's OIDC_OP_DISCOVERY_ENDPOINT (its issuer URL), or "
            f"{', '.join(missing)}."
        )
    if algorithm not in SIGN_ALGORITHMS:
        raise ImproperlyConfigured(
            f"OIDC_RP_SIGN_ALGO={algorithm!r}: use one of {', '.join(SIGN_ALGORITHMS)} "
            "(the algorithm the provider signs ID tokens with; RS256 for most)."
        )
    for name, url in endpoints.items():
        if url and not url.startswith(("https://", "http://")):
            raise ImproperlyConfigured(f"{name}={url!r} is not an http(s) URL.")

    values.update(
        {
            "OIDC_RP_CLIENT_ID": client_id,
            "OIDC_RP_CLIENT_SECRET": secret,
            "OIDC_RP_SIGN_ALGO": algorithm,
            "OIDC_RP_SCOPES": env.str("OIDC_RP_SCOPES", default="openid email profile"),
            "OIDC_PROVIDER_NAME": env.str("OIDC_PROVIDER_NAME", default="").strip(),
            "OIDC_GRANTS_CLAIM": env.str("OIDC_GRANTS_CLAIM", default="groups").strip(),
            "OIDC_GROUP_GRANTS": parse_group_grants(env.str("OIDC_GROUP_GRANTS", default="")),
            # Seconds the provider is given to answer each request.
            "OIDC_TIMEOUT": env.int("OIDC_TIMEOUT", default=10),
            **endpoints,
        }
    )
    return values
