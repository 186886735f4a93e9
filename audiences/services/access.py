"""Writes for access: audiences and their owners, grants, and the audit log of who did what.

A new grant is announced to the audience's owner through the outbox (`access.granted`), written
in the grant's transaction: the e-mail is owed exactly when the grant commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from audiences.models import Audience, AudienceGrant, AuditAction, AuditLog
from xmplatform.core.outbox import outbox_emit


def audit_record(
    *,
    actor: Any,
    action: str,
    audiences: Sequence[Audience | int | None] = (None,),
    target: str = "",
    detail: dict[str, Any] | None = None,
    actor_name: str = "",
) -> int:
    """Append one audit entry per audience (one INSERT); returns how many were written.

    Name people by id only (`target="person 42"`): an erasure must leave nothing here. An
    actor that is not a user (an API key) is named by `actor_name`.
    """
    user = actor if getattr(actor, "pk", None) is not None else None
    entries = [
        AuditLog(
            actor=user,
            actor_username=getattr(user, "username", "") if user is not None else actor_name,
            action=action,
            audience_id=a.pk if isinstance(a, Audience) else a,
            target=target[:200],
            detail=detail or {},
        )
        for a in audiences
    ]
    AuditLog.objects.bulk_create(entries)
    return len(entries)


# --- Audiences and their owners --------------------------------------------------------------


def _owner_take_charge(
    *, audience: Audience, previous: int | None, actor: Any, actor_name: str = ""
) -> None:
    """Make the owner staff (their cases open in the admin); audit a new owner as access."""
    owner = audience.owner
    if not owner.is_staff:
        type(owner).objects.filter(pk=owner.pk).update(is_staff=True)
        owner.is_staff = True
    if previous != owner.pk:
        audit_record(
            actor=actor,
            actor_name=actor_name,
            action=AuditAction.GRANT_ADDED if previous is None else AuditAction.GRANT_CHANGED,
            audiences=[audience],
            target=f"user {owner.get_username()}",
            detail={"user_id": owner.pk, "owner": True, "previous_owner_id": previous},
        )


@transaction.atomic
def audience_create(
    *,
    owner: Any,
    slug: str,
    name: str,
    kind: str,
    actor: Any,
    actor_name: str = "",
    priority: int = 100,
    description: str = "",
    requires_opt_in: bool = False,
    anonymity_threshold: int = 5,
) -> Audience:
    """Create an audience owned by `owner`, who becomes staff; the new owner is audited.

    Raises ValidationError for settings `Audience.clean` refuses, and IntegrityError when the
    slug is taken (checked by the constraint, inside a savepoint so the caller's transaction
    stays usable). `actor` is a user, or None for a system named by `actor_name` (an API key).
    """
    audience = Audience(
        owner=owner,
        slug=slug,
        name=name,
        kind=kind,
        priority=priority,
        description=description,
        requires_opt_in=requires_opt_in,
        anonymity_threshold=anonymity_threshold,
    )
    audience.clean()
    with transaction.atomic():
        audience.save(force_insert=True)
    _owner_take_charge(audience=audience, previous=None, actor=actor, actor_name=actor_name)
    return audience


@transaction.atomic
def audience_save(*, audience: Audience, actor: Any) -> Audience:
    """Save an audience the XM team edited; its owner manages it (audiences.access).

    The owner becomes staff, so the cases alerts assign to them can be opened in the admin, and a
    new owner is audited as a change of access.
    """
    previous = (
        Audience.objects.filter(pk=audience.pk).values_list("owner_id", flat=True).first()
        if audience.pk is not None
        else None
    )
    audience.save()
    _owner_take_charge(audience=audience, previous=previous, actor=actor)
    return audience


# --- Grants ----------------------------------------------------------------------------------


@transaction.atomic
def grant_set(
    *, user: Any, audience: Audience, role: int, actor: Any, actor_name: str = ""
) -> AudienceGrant:
    """Give `user` `role` on `audience` (or change their role); audited.

    `actor` is a user, or None for a system named by `actor_name` (single sign-on).

    The user becomes staff so they can log into the admin; their model permissions come from
    their highest role (audiences.access.AudienceRoleBackend). A new grant is owed to the
    audience's owner as an e-mail (`access.granted`, relayed after commit).
    """
    grant, created = AudienceGrant.objects.select_for_update().get_or_create(
        user=user, audience=audience, defaults={"role": role, "granted_by": actor}
    )
    if not created and grant.role == role:
        return grant
    before = None if created else grant.role
    if not created:
        grant.role = role
        grant.granted_by = actor
        grant.save(update_fields=["role", "granted_by"])
    if not user.is_staff:
        type(user).objects.filter(pk=user.pk).update(is_staff=True)
        user.is_staff = True
    audit_record(
        actor=actor,
        actor_name=actor_name,
        action=AuditAction.GRANT_ADDED if created else AuditAction.GRANT_CHANGED,
        audiences=[audience],
        target=f"user {user.username}",
        detail={"user_id": user.pk, "role": role, "previous_role": before},
    )
    if created:
        outbox_emit("access.granted", grant_id=grant.pk)
    return grant


@transaction.atomic
def grant_remove(*, grant: AudienceGrant, actor: Any, actor_name: str = "") -> None:
    """Withdraw one grant; audited. The user keeps their other grants."""
    deleted, _detail = AudienceGrant.objects.filter(pk=grant.pk).delete()
    if deleted:
        audit_record(
            actor=actor,
            actor_name=actor_name,
            action=AuditAction.GRANT_REMOVED,
            audiences=[grant.audience_id],
            target=f"user {grant.user.username}",
            detail={"user_id": grant.user_id, "role": grant.role},
        )


def grant_notify_owner(*, grant_id: int) -> bool:
    """E-mail the audience's owner that someone got access; False when there is nobody to tell.

    A grant removed before this runs is not announced (there is nothing left to check).
    """
    grant = (
        AudienceGrant.objects.select_related("user", "audience__owner", "granted_by")
        .filter(pk=grant_id)
        .first()
    )
    if grant is None or not grant.audience.owner.email:
        return False
    values = {
        "user": grant.user.get_username(),
        "audience": grant.audience.name,
        "role": grant.get_role_display(),
        "by": grant.granted_by.get_username() if grant.granted_by else "—",
    }
    send_mail(
        subject=_("New access to %(audience)s: %(user)s") % values,
        message=_(
            "%(user)s was given access to the audience %(audience)s as %(role)s by %(by)s.\n\n"
            "If this is not expected, remove the grant in the admin (Audience grants)."
        )
        % values,
        from_email=None,
        recipient_list=[grant.audience.owner.email],
    )
    return True


def access_granted_handler(*, message_id: int, grant_id: int) -> None:
    """Outbox `access.granted`: tell the owner. A failed hand-off to SMTP raises and is retried.

    At least once: a worker that dies between the hand-off and its commit sends the notice
    again, which a notice tolerates (nothing else is written).
    """
    grant_notify_owner(grant_id=grant_id)
