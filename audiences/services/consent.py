"""Writes for consent: per person and channel, every change audited, an opt-out always wins."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audiences.models import (
    AuditAction,
    Channel,
    Consent,
    ConsentOrigin,
    ConsentStatus,
    Membership,
    Person,
)
from audiences.services.access import audit_record


class ThePerson:
    """The consenting person themselves (on the hosted survey page), as a consent actor."""

    def __repr__(self) -> str:
        return "THE_PERSON"


THE_PERSON = ThePerson()


def consent_may_reverse(*, actor: Any) -> bool:
    """Whether `actor` may grant a consent the person withdrew: only they or a superuser.

    An opt-out is the person's word, and consent is per person, not per audience: a grant by
    one audience's manager would count for every other audience the person belongs to.
    """
    if actor is THE_PERSON:
        return True
    return bool(getattr(actor, "is_superuser", False) and getattr(actor, "is_active", False))


def _withdrawn_error(channel: str) -> ValidationError:
    return ValidationError(
        _(
            "The person withdrew their %(channel)s consent; only they (on the survey page) or a "
            "superuser can grant it again."
        )
        % {"channel": Channel(channel).label},
        code="consent_withdrawn",
    )


def _consent_validate(*, channel: str, status: str | None) -> None:
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel %(channel)s.") % {"channel": channel})
    if status is not None and status not in ConsentStatus.values:
        raise ValidationError(_("Unknown consent status %(status)s.") % {"status": status})


def consent_check(*, person: Person, channel: str, status: str | None, actor: Any) -> None:
    """Raise ValidationError if `actor` may not give `person`'s `channel` consent `status`.

    `status=None` asks about deleting the record (which, for a withdrawal, reverses it too).
    For forms, before the write; `consent_set` and `consent_delete` check again under lock.
    """
    _consent_validate(channel=channel, status=status)
    stored = (
        Consent.objects.filter(person=person, channel=channel)
        .values_list("status", flat=True)
        .first()
    )
    if (
        stored == ConsentStatus.WITHDRAWN
        and status != ConsentStatus.WITHDRAWN
        and not consent_may_reverse(actor=actor)
    ):
        raise _withdrawn_error(channel)


def _consent_audit(
    *,
    person: Person,
    actor: Any,
    actor_name: str,
    origin: str,
    source: str,
    changes: list[tuple[str, str | None, str | None]],
) -> None:
    """One audit entry per audience of the person for `changes` [(channel, before, after)]."""
    audiences = list(
        Membership.objects.filter(person=person).order_by().values_list("audience_id", flat=True)
    )
    if actor is THE_PERSON:
        actor, actor_name = None, f"person {person.pk}"
    audit_record(
        actor=actor,
        actor_name=actor_name,
        action=AuditAction.CONSENT_CHANGED,
        audiences=audiences or [None],
        target=f"person {person.pk}",
        detail={
            "person_id": person.pk,
            "origin": origin,
            "source": source,
            "changes": [{"channel": c, "from": old, "to": new} for c, old, new in changes],
        },
    )


@transaction.atomic
def consent_set(
    *,
    person: Person,
    channel: str,
    status: str,
    actor: Any,
    origin: str,
    source: str = "",
    actor_name: str = "",
) -> Consent:
    """Record `person`'s consent for `channel`; audited when the status changes.

    `actor` is a user, `THE_PERSON` (the person on the hosted page), or None for a system
    named by `actor_name` (an API key, an import); `origin` is a ConsentOrigin. An opt-out
    always wins: granting a withdrawn consent raises ValidationError unless the actor is the
    person or a superuser (`consent_may_reverse`), and nothing is written. The consent row is
    locked, so a concurrent opt-out is never overwritten by a stale grant.
    """
    _consent_validate(channel=channel, status=status)
    source = source or origin
    consent, created = Consent.objects.select_for_update().get_or_create(
        person=person, channel=channel, defaults={"status": status, "source": source}
    )
    before = None if created else consent.status
    if before == status:
        return consent
    if before == ConsentStatus.WITHDRAWN and not consent_may_reverse(actor=actor):
        raise _withdrawn_error(channel)
    if not created:
        consent.status = status
        consent.source = source
        consent.save(update_fields=["status", "source", "changed_at"])
    _consent_audit(
        person=person,
        actor=actor,
        actor_name=actor_name,
        origin=origin,
        source=source,
        changes=[(channel, before, status)],
    )
    return consent


@transaction.atomic
def consent_delete(*, consent: Consent, actor: Any, origin: str, actor_name: str = "") -> bool:
    """Delete a consent record (the channel falls back to the audience's default); audited.

    Deleting a withdrawal would reverse it: refused (ValidationError) like a grant, unless the
    actor is the person or a superuser. Returns whether a row was deleted.
    """
    stored = Consent.objects.select_for_update().filter(pk=consent.pk).first()
    if stored is None:
        return False
    if stored.status == ConsentStatus.WITHDRAWN and not consent_may_reverse(actor=actor):
        raise _withdrawn_error(stored.channel)
    stored.delete()
    _consent_audit(
        person=stored.person,
        actor=actor,
        actor_name=actor_name,
        origin=origin,
        source="",
        changes=[(stored.channel, stored.status, None)],
    )
    return True


@transaction.atomic
def person_opt_out(
    *,
    person: Person,
    source: str,
    actor: Any = THE_PERSON,
    origin: str = ConsentOrigin.HOSTED_PAGE,
    actor_name: str = "",
) -> int:
    """Withdraw `person`'s consent on every channel; returns how many channels changed.

    Anyone may withdraw. The defaults describe the hosted page's one-click opt-out: the person
    themselves. Four queries whatever the number of channels: the stored consents (locked),
    one INSERT … ON CONFLICT UPDATE of the withdrawals (a concurrent grant of a channel never
    recorded is overwritten: the opt-out wins), the person's audiences and the audit entries.
    """
    stored = dict(
        Consent.objects.select_for_update().filter(person=person).values_list("channel", "status")
    )
    changes: list[tuple[str, str | None, str | None]] = [
        (c, stored.get(c), ConsentStatus.WITHDRAWN)
        for c in Channel.values
        if stored.get(c) != ConsentStatus.WITHDRAWN
    ]
    if not changes:
        return 0
    Consent.objects.bulk_create(
        [
            Consent(person=person, channel=c, status=ConsentStatus.WITHDRAWN, source=source)
            for c, _before, _after in changes
        ],
        update_conflicts=True,
        unique_fields=["person", "channel"],
        update_fields=["status", "source", "changed_at"],
    )
    _consent_audit(
        person=person,
        actor=actor,
        actor_name=actor_name,
        origin=origin,
        source=source,
        changes=changes,
    )
    return len(changes)
