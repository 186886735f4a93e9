"""Writes for people, memberships and consent: upserts, opt-outs, erasure, access grants.

Everything that touches many people is set-based: one SELECT per chunk to find who exists, one
bulk INSERT for the new rows, one bulk UPDATE for the rows that really changed. Running the same
input twice therefore writes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import (
    Audience,
    AudienceGrant,
    AuditAction,
    AuditLog,
    Channel,
    Consent,
    ConsentOrigin,
    ConsentStatus,
    Membership,
    Person,
)
from journeys.models import TouchpointEvent
from metrics.models import Case, CaseNote
from surveys.models import Answer, Invitation, InvitationState, QuestionType, Response

UPSERT_CHUNK = 2000
PERSON_FIELDS = ("email", "phone", "name", "language", "time_zone")


# --- People and memberships -----------------------------------------------------------------


@dataclass
class UpsertResult:
    """What `people_upsert` did, person by person and membership by membership."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    memberships_created: int = 0
    memberships_updated: int = 0
    memberships_unchanged: int = 0

    def add(self, other: UpsertResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@transaction.atomic
def people_upsert(
    *,
    rows: Sequence[dict[str, Any]],
    audience: Audience | None = None,
    chunk_size: int = UPSERT_CHUNK,
    progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """Create or update people by `external_id`, and their membership of `audience` if given.

    Each row needs `external_id`; the keys of PERSON_FIELDS it carries are written, absent keys
    leave the stored value alone (new people get the model default). With an audience, the
    keys `segment`, `attributes` (merged into the stored attributes), `joined_on` and `left_on`
    are written to the membership; without `left_on` a membership that had ended is resumed.
    External ids must be unique within `rows` (the caller validates).

    Queries per chunk: people by external id; INSERT of the new people (if any); UPDATE of the
    changed people (if any); and with an audience the same three for memberships. Unchanged
    input costs two SELECTs per chunk and writes nothing.
    """
    result = UpsertResult()
    for chunk in _chunks(rows, chunk_size):
        result.add(_upsert_chunk(chunk, audience))
        if progress is not None:
            progress(len(chunk))
    return result


def _upsert_chunk(rows: Sequence[dict[str, Any]], audience: Audience | None) -> UpsertResult:
    result = UpsertResult()
    now = timezone.now()
    existing = {
        p.external_id: p
        for p in Person.objects.filter(external_id__in=[r["external_id"] for r in rows])
    }
    new_people: list[Person] = []
    changed_people: list[Person] = []
    changed_fields: set[str] = set()
    for row in rows:
        person = existing.get(row["external_id"])
        if person is None:
            person = Person(
                external_id=row["external_id"], **{f: row[f] for f in PERSON_FIELDS if f in row}
            )
            new_people.append(person)
            existing[person.external_id] = person
            continue
        diff = [f for f in PERSON_FIELDS if f in row and getattr(person, f) != row[f]]
        if diff:
            for f in diff:
                setattr(person, f, row[f])
            person.updated_at = now
            changed_fields.update(diff)
            changed_people.append(person)
        else:
            result.unchanged += 1
    if new_people:
        # Both backends return the new primary keys from a bulk INSERT (… RETURNING id).
        Person.objects.bulk_create(new_people, batch_size=len(new_people))
    if changed_people:
        Person.objects.bulk_update(
            changed_people, [*sorted(changed_fields), "updated_at"], batch_size=len(changed_people)
        )
    result.created = len(new_people)
    result.updated = len(changed_people)
    if audience is not None:
        _upsert_memberships(rows, audience, existing, result)
    return result


def _upsert_memberships(
    rows: Sequence[dict[str, Any]],
    audience: Audience,
    people: dict[str, Person],
    result: UpsertResult,
) -> None:
    ids = [people[r["external_id"]].pk for r in rows]
    stored = {
        m.person_id: m for m in Membership.objects.filter(audience=audience, person_id__in=ids)
    }
    new: list[Membership] = []
    changed: list[Membership] = []
    changed_fields: set[str] = set()
    for row in rows:
        person = people[row["external_id"]]
        membership = stored.get(person.pk)
        if membership is None:
            new.append(
                Membership(
                    person=person,
                    audience=audience,
                    segment=row.get("segment", ""),
                    attributes=dict(row.get("attributes") or {}),
                    joined_on=row.get("joined_on"),
                    left_on=row.get("left_on"),
                )
            )
            continue
        # Being upserted into an audience resumes a membership that had ended, unless the row
        # itself says when it ended.
        wanted: dict[str, Any] = {"left_on": row.get("left_on")}
        if "segment" in row:
            wanted["segment"] = row["segment"]
        if row.get("attributes"):
            wanted["attributes"] = {**membership.attributes, **row["attributes"]}
        if "joined_on" in row:
            wanted["joined_on"] = row["joined_on"]
        diff = [f for f, v in wanted.items() if getattr(membership, f) != v]
        if diff:
            for f in diff:
                setattr(membership, f, wanted[f])
            changed_fields.update(diff)
            changed.append(membership)
        else:
            result.memberships_unchanged += 1
    if new:
        Membership.objects.bulk_create(new, batch_size=len(new))
    if changed:
        Membership.objects.bulk_update(changed, sorted(changed_fields), batch_size=len(changed))
    result.memberships_created += len(new)
    result.memberships_updated += len(changed)


@transaction.atomic
def membership_add(
    *,
    person: Person,
    audience: Audience,
    segment: str = "",
    attributes: dict[str, Any] | None = None,
    joined_on: dt.date | None = None,
) -> Membership:
    """Make `person` a current member of `audience`; resumes a membership that had ended."""
    membership, created = Membership.objects.select_for_update().get_or_create(
        person=person,
        audience=audience,
        defaults={"segment": segment, "attributes": attributes or {}, "joined_on": joined_on},
    )
    if not created:
        membership.segment = segment
        membership.attributes = {**membership.attributes, **(attributes or {})}
        membership.joined_on = joined_on or membership.joined_on
        membership.left_on = None
        membership.save(update_fields=["segment", "attributes", "joined_on", "left_on"])
    return membership


@transaction.atomic
def membership_remove(
    *, person: Person, audience: Audience, left_on: dt.date | None = None
) -> bool:
    """End `person`'s membership of `audience` by setting `left_on`; returns whether it ended now.

    The row is kept, not deleted: churn and retention are counted from `joined_on`/`left_on`,
    and past responses keep their audience slice. `person_erase` is the way to forget someone.
    """
    when = left_on or timezone.localdate()
    changed = Membership.objects.filter(
        person=person, audience=audience, left_on__isnull=True
    ).update(left_on=when)
    return changed == 1


# --- Consent -------------------------------------------------------------------------------


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


# --- Erasure -------------------------------------------------------------------------------

ERASED_REASON = "erased"


@dataclass(frozen=True)
class ErasureReport:
    """What `person_erase` removed or unlinked (counts of rows)."""

    person_id: int
    memberships: int
    consents: int
    events: int
    contacts: int
    invitations_unlinked: int
    responses_unlinked: int
    free_text_answers: int
    case_notes: int = 0
    admin_log_entries: int = 0


@transaction.atomic
def person_erase(*, person: Person) -> ErasureReport:
    """Forget `person` (a GDPR erasure request): the person and everything personal about them.

    Deleted: the person, their memberships, consent records, touchpoint events and contact
    ledger entries, the free-text answers of their named responses (text can name them) and
    the notes on their follow-up cases (the cases stay, without the person).
    Unlinked and kept for the aggregates: their invitations (no person, event or provider
    message id; unsent ones suppressed, all expired so no link opens a survey) and their named
    responses (no person, invitation, precise time or user agent; the completion date and the
    scored answers stay, so published scores do not move). Anonymous responses never had a link
    and are untouched. Django's admin change history forgets them too: the entries about the
    person's rows, and those whose text mentions them (`_admin_log_scrub`).

    The person's row is locked first, so a concurrent upsert or response waits. Set-based: the
    number of queries does not depend on how much history the person has.
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    now = timezone.now()
    # First, while every row about the person still exists to be found.
    log_entries = _admin_log_scrub(person=person)
    case_notes, _detail = CaseNote.objects.filter(case__person=person).delete()
    free_text, _detail = Answer.objects.filter(
        response__person=person, question__type=QuestionType.TEXT
    ).delete()
    responses = Response.objects.filter(person=person).update(**RESPONSE_PERSONAL_LINKS)
    Invitation.objects.filter(
        person=person, state__in=[InvitationState.PLANNED, InvitationState.SENDING]
    ).update(state=InvitationState.SUPPRESSED, suppression_reason=ERASED_REASON)
    invitations = Invitation.objects.filter(person=person).update(
        person=None, event=None, message_id="", expires_at=now
    )
    events = TouchpointEvent.objects.filter(person=person).count()
    _total, deleted = Person.objects.filter(pk=person.pk).delete()
    return ErasureReport(
        person_id=person.pk,
        memberships=deleted.get(Membership._meta.label, 0),
        consents=deleted.get(Consent._meta.label, 0),
        events=deleted.get(TouchpointEvent._meta.label, events),
        contacts=deleted.get("surveys.ContactLedger", 0),
        invitations_unlinked=invitations,
        responses_unlinked=responses,
        free_text_answers=free_text,
        case_notes=case_notes,
        admin_log_entries=log_entries,
    )


# Shorter names or ids would match unrelated words ("Al", "42"), scrubbing others' history.
MIN_MENTION_LENGTH = 3
# Word edges in a pattern both PostgreSQL (ARE) and Python's re (SQLite) read the same way.
_EDGE_BEFORE = r"(^|[^0-9A-Za-z_])"
_EDGE_AFTER = r"($|[^0-9A-Za-z_])"


def _personal_objects(person: Person) -> list[tuple[type[models.Model], models.QuerySet[Any]]]:
    """The person's row and every row that points at it (directly, or via a case or response)."""
    objects: list[tuple[type[models.Model], models.QuerySet[Any]]] = [
        (Person, Person.objects.filter(pk=person.pk))
    ]
    for relation in Person._meta.get_fields(include_hidden=True):
        if relation.auto_created and not relation.concrete and relation.one_to_many:
            model: Any = relation.related_model
            field_name = relation.field.name  # type: ignore[union-attr]
            objects.append((model, model._default_manager.filter(**{field_name: person})))
    objects.append((CaseNote, CaseNote.objects.filter(case__person=person)))
    objects.append((Answer, Answer.objects.filter(response__person=person)))
    return objects


def _mention_pattern(person: Person) -> str | None:
    """A case-insensitive pattern for the person's name, e-mail, phone or external id as words.

    Each also as JSON writes it (ASCII escapes), because the admin stores change messages as
    JSON: "Ayşe" is "Ay\\u015fe" there.
    """
    terms: set[str] = set()
    for value in (person.name, person.email, person.phone, person.external_id):
        value = (value or "").strip()
        if len(value) >= MIN_MENTION_LENGTH:
            terms.update({value, json.dumps(value)[1:-1]})
    if not terms:
        return None
    words = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return f"{_EDGE_BEFORE}({words}){_EDGE_AFTER}"


def _admin_log_scrub(*, person: Person) -> int:
    """Blank Django's change history about the person; returns how many entries changed.

    An entry goes when it is about one of the person's own rows (the person, memberships,
    consents, events, invitations, responses, cases, case notes, …), or when its object repr
    or change message mentions them (a case note, an event title). One UPDATE (and, the first
    time, one SELECT of the content types): the object ids are subqueries, not lists.
    """
    objects = _personal_objects(person)
    content_types = ContentType.objects.get_for_models(*(m for m, _qs in objects))
    about = models.Q()
    for model, queryset in objects:
        ids = (
            queryset.order_by()
            .annotate(_log_id=Cast("pk", output_field=models.CharField()))
            .values("_log_id")
        )
        about |= models.Q(content_type=content_types[model], object_id__in=ids)
    pattern = _mention_pattern(person)
    if pattern is not None:
        about |= models.Q(object_repr__iregex=pattern) | models.Q(change_message__iregex=pattern)
    return LogEntry.objects.filter(about).update(
        object_repr=f"{_('erased')} #{person.pk}", change_message=""
    )


# --- Access: grants, the audit log, retention ----------------------------------------------


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


@transaction.atomic
def grant_set(*, user: Any, audience: Audience, role: int, actor: Any) -> AudienceGrant:
    """Give `user` `role` on `audience` (or change their role); audited.

    The user becomes staff so they can log into the admin; their model permissions come from
    their highest role (audiences.access.AudienceRoleBackend). A new grant is announced to the
    audience's owner by e-mail after commit.
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
        action=AuditAction.GRANT_ADDED if created else AuditAction.GRANT_CHANGED,
        audiences=[audience],
        target=f"user {user.username}",
        detail={"user_id": user.pk, "role": role, "previous_role": before},
    )
    if created:
        from audiences.tasks import grant_notify_owner_task

        grant_id = grant.pk
        transaction.on_commit(lambda: grant_notify_owner_task.delay(grant_id))
    return grant


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
    owner = audience.owner
    if not owner.is_staff:
        type(owner).objects.filter(pk=owner.pk).update(is_staff=True)
        owner.is_staff = True
    if previous != owner.pk:
        audit_record(
            actor=actor,
            action=AuditAction.GRANT_ADDED if previous is None else AuditAction.GRANT_CHANGED,
            audiences=[audience],
            target=f"user {owner.get_username()}",
            detail={"user_id": owner.pk, "owner": True, "previous_owner_id": previous},
        )
    return audience


@transaction.atomic
def grant_remove(*, grant: AudienceGrant, actor: Any) -> None:
    """Withdraw one grant; audited. The user keeps their other grants."""
    deleted, _detail = AudienceGrant.objects.filter(pk=grant.pk).delete()
    if deleted:
        audit_record(
            actor=actor,
            action=AuditAction.GRANT_REMOVED,
            audiences=[grant.audience_id],
            target=f"user {grant.user.username}",
            detail={"user_id": grant.user_id, "role": grant.role},
        )


def grant_notify_owner(*, grant_id: int) -> bool:
    """E-mail the audience's owner that someone got access; False when there is nobody to tell."""
    from django.core.mail import send_mail

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


# Fields that tie a response to a person; cleared by retention, erasure and anonymity.
RESPONSE_PERSONAL_LINKS: dict[str, Any] = {
    "person": None,
    "invitation": None,
    "started_at": None,
    "completed_at": None,
    "user_agent": "",
    "resume_key": None,
    "browser_key": None,
}


def responses_apply_retention(*, today: dt.date | None = None) -> int:
    """Unlink responses older than their audience's retention from people; returns how many.

    A response is older when it was completed (or, unfinished, started) more than
    `retention_months` before `today`. The answers and the completion date stay, so scores do
    not change. The follow-up cases of those responses (or, without a response, opened before
    the cutoff) lose their person too: through its case a response would still name who gave
    it. Two UPDATEs per audience that has a retention (audiences are few).
    """
    today = today or timezone.localdate()
    changed = 0
    for audience_id, months in Audience.objects.filter(retention_months__isnull=False).values_list(
        "pk", "retention_months"
    ):
        cutoff = _months_before(today, int(months or 0))
        linked = Response.objects.filter(audience_id=audience_id).filter(
            models.Q(person__isnull=False)
            | models.Q(invitation__isnull=False)
            | models.Q(completed_at__isnull=False)
            | models.Q(started_at__isnull=False)
        )
        old = models.Q(completed_on__lt=cutoff) | models.Q(
            completed_on__isnull=True, started_at__date__lt=cutoff
        )
        old_cases = models.Q(
            response__in=Response.objects.filter(audience_id=audience_id).filter(old).values("pk")
        ) | models.Q(response__isnull=True, opened_at__date__lt=cutoff)
        with transaction.atomic():
            Case.objects.filter(audience_id=audience_id, person__isnull=False).filter(
                old_cases
            ).update(person=None)
            changed += linked.filter(old).update(**RESPONSE_PERSONAL_LINKS)
    return changed


def _months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    # The same day of the month, or the month's last day (31 March − 1 month = 28/29 February).
    for candidate in range(day.day, 27, -1):
        try:
            return dt.date(year, month, candidate)
        except ValueError:
            continue
    return dt.date(year, month, min(day.day, 28))
