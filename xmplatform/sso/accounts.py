"""Accounts made by single sign-on, and the audience grants their groups give.

Audiences named in OIDC_GROUP_GRANTS are the provider's to manage: on every sign-in the user's
grants on them become exactly what their groups give now (the highest role when several groups
name one audience), so leaving a group at the provider removes its grant at the next sign-in.
Grants on other audiences, given by hand in the admin, are left alone. Every change is audited
under "single sign-on" and a new grant is announced to the audience's owner, as any grant is.

When OIDC_GROUP_GRANTS is set, only people it gives access are let in: a first sign-in without
a mapped group makes no account, and a later sign-in of a user left with no access at all (no
grant, no owned audience, not a superuser) is refused after their grants are withdrawn.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from audiences.access import audience_roles, forget_roles
from audiences.models import Audience, AudienceGrant, Role
from audiences.services.access import grant_remove, grant_set
from xmplatform.sso.models import SsoIdentity

log = logging.getLogger(__name__)

ACTOR_NAME = "single sign-on"
ROLES = {"viewer": Role.VIEWER, "analyst": Role.ANALYST, "manager": Role.MANAGER}
_NOT_IN_USERNAME = re.compile(r"[^\w.@+-]")


class NoAccess(Exception):
    """The provider vouched for the person, but xmplatform gives them no access."""


def claim_groups(claims: dict[str, Any]) -> list[str]:
    """The groups in the OIDC_GRANTS_CLAIM claim: a list, or one string of comma- or
    space-separated names."""
    value = claims.get(getattr(settings, "OIDC_GRANTS_CLAIM", "groups") or "groups")
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value)
    if not isinstance(value, list | tuple):
        return []
    return sorted({str(group).strip() for group in value if str(group).strip()})


def mapped_roles(groups: list[str]) -> dict[str, int]:
    """{audience slug: role} the groups give (the highest role per audience)."""
    mapping: dict[str, tuple[tuple[str, str], ...]] = getattr(settings, "OIDC_GROUP_GRANTS", {})
    roles: dict[str, int] = {}
    for group in groups:
        for slug, role in mapping.get(group, ()):
            roles[slug] = max(roles.get(slug, 0), ROLES[role])
    return roles


def managed_slugs() -> set[str]:
    mapping: dict[str, tuple[tuple[str, str], ...]] = getattr(settings, "OIDC_GROUP_GRANTS", {})
    return {slug for grants in mapping.values() for slug, _role in grants}


def _username(claims: dict[str, Any]) -> str:
    """A free user name from preferred_username, e-mail or subject ("ayse", then "ayse-2" …)."""
    raw = str(claims.get("preferred_username") or claims.get("email") or claims["sub"])
    base = _NOT_IN_USERNAME.sub("-", raw.strip())[:140] or "sso-user"
    users = get_user_model()._default_manager
    name, n = base, 1
    while users.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _profile(claims: dict[str, Any]) -> dict[str, str]:
    return {
        "email": str(claims.get("email") or "")[:254],
        "first_name": str(claims.get("given_name") or "")[:150],
        "last_name": str(claims.get("family_name") or "")[:150],
    }


def sync_grants(user: Any, roles: dict[str, int]) -> None:
    """Make the user's grants on the managed audiences exactly `roles` ({slug: role})."""
    audiences = list(Audience.objects.filter(slug__in=managed_slugs()).order_by("pk"))
    missing = managed_slugs() - {audience.slug for audience in audiences}
    if missing:
        log.warning("OIDC_GROUP_GRANTS names audiences that do not exist: %s", sorted(missing))
    held = {
        grant.audience_id: grant
        for grant in AudienceGrant.objects.filter(user=user, audience__in=audiences).select_related(
            "user"
        )
    }
    for audience in audiences:
        role = roles.get(audience.slug)
        if role:
            grant_set(user=user, audience=audience, role=role, actor=None, actor_name=ACTOR_NAME)
        elif audience.pk in held:
            grant_remove(grant=held[audience.pk], actor=None, actor_name=ACTOR_NAME)
    forget_roles(user)


@transaction.atomic
def _account(*, issuer: str, claims: dict[str, Any], groups: list[str]) -> Any:
    identity = (
        SsoIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=str(claims["sub"]))
        .first()
    )
    roles = mapped_roles(groups)
    if identity is None:
        if managed_slugs() and not roles:
            raise NoAccess("no group of this account gives access")
        # No password: the account signs in only through the provider.
        user = get_user_model()._default_manager.create_user(
            _username(claims), password=None, is_staff=True, **_profile(claims)
        )
        identity = SsoIdentity.objects.create(
            user=user, issuer=issuer, subject=str(claims["sub"]), groups=groups
        )
    else:
        user = identity.user
        profile = {k: v for k, v in _profile(claims).items() if v and getattr(user, k) != v}
        if profile:
            for field, value in profile.items():
                setattr(user, field, value)
            user.save(update_fields=list(profile))
        identity.groups = groups
        identity.save(update_fields=["groups", "last_sign_in"])
    if user.is_active:
        sync_grants(user, roles)
    return user


def sign_in_user(*, issuer: str, claims: dict[str, Any]) -> Any:
    """The user the provider's claims stand for, made on their first sign-in, with the grants
    their groups give now; raises NoAccess when they may not come in."""
    user = _account(issuer=issuer, claims=claims, groups=claim_groups(claims))
    if not user.is_active:
        raise NoAccess("the account is deactivated")
    if managed_slugs() and not user.is_superuser and not audience_roles(user):
        raise NoAccess("no group of this account gives access")
    return user
