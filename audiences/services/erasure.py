"""Erasure of a person (a GDPR request), as audiences starts and finishes it.

`person_erase` forgets at once what audiences holds: the person's name, e-mail, phone and
external id, their memberships and consents, and Django's change history about them. It audits
the request and emits `person.erased` in the same transaction. The apps above then erase what
they hold (xmplatform.people.person_erased_handler: events, invitations, responses, cases,
webhook deliveries) and `person_erase_finish` deletes the emptied row and audits the completion.
Until then the row stays as an empty shell (`erased_at` set), so the apps above can still find
the rows that point at it: deleting it first would cascade some and unlink others anonymously.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import AuditAction, AuditLog, Consent, Membership, Person
from audiences.services.access import audit_record
from xmplatform.core.outbox import outbox_emit

# The external id an erased person keeps until their row goes: random, so it never meets a
# caller's id (the original may be upserted again at once, as a new person).
ERASED_EXTERNAL_ID = "erased-{token}"


@dataclass(frozen=True)
class ErasureReport:
    """What `person_erase` removed at once (counts of rows); the apps above report their own."""

    person_id: int
    memberships: int
    consents: int
    admin_log_entries: int
    started: bool = True


@transaction.atomic
def person_erase(*, person_id: int, actor: Any, actor_name: str = "") -> ErasureReport:
    """Forget the person: what audiences holds now, the rest through `person.erased`.

    Now, in this transaction: Django's change history about the person is blanked (while every
    row about them can still be found, `_admin_log_scrub`); their memberships and consent
    records are deleted; the person's row keeps no name, e-mail, phone or external id, and is
    marked `erased_at`; one audit entry per audience they belonged to names the `actor` (a user,
    or None for a system named by `actor_name`); and `person.erased` is owed to the apps above.
    They delete or unlink the rest after commit and `person_erase_finish` deletes the row (in
    eager mode right after commit; with workers within seconds).

    The person's row is locked first, so a concurrent upsert or response waits. A person whose
    erasure has already started is left alone (`started=False`). Raises Person.DoesNotExist for
    an unknown id. Set-based: the number of queries does not depend on the person's history.
    """
    person = Person.objects.select_for_update().get(pk=person_id)
    if person.erased_at is not None:
        return ErasureReport(
            person_id=person_id, memberships=0, consents=0, admin_log_entries=0, started=False
        )
    audiences = list(
        Membership.objects.filter(person=person).order_by().values_list("audience_id", flat=True)
    )
    log_entries = _admin_log_scrub(person=person)
    _total, memberships_by_model = Membership.objects.filter(person=person).delete()
    _total, consents_by_model = Consent.objects.filter(person=person).delete()
    memberships = memberships_by_model.get(Membership._meta.label, 0)
    consents = consents_by_model.get(Consent._meta.label, 0)
    now = timezone.now()
    Person.objects.filter(pk=person.pk).update(
        external_id=ERASED_EXTERNAL_ID.format(token=uuid.uuid4().hex),
        email="",
        phone="",
        name="",
        erased_at=now,
        updated_at=now,
    )
    report = ErasureReport(
        person_id=person.pk,
        memberships=memberships,
        consents=consents,
        admin_log_entries=log_entries,
    )
    audit_record(
        actor=actor,
        actor_name=actor_name,
        action=AuditAction.PERSON_ERASED,
        audiences=audiences or [None],
        target=f"person {person.pk}",
        detail={
            "memberships": memberships,
            "consents": consents,
            "admin_log_entries": log_entries,
        },
    )
    outbox_emit("person.erased", person_id=person.pk)
    return report


@transaction.atomic
def person_erase_finish(*, person_id: int, counts: Mapping[str, int]) -> bool:
    """Delete an erased person's emptied row once the apps above erased what they hold.

    `counts` says what they removed or unlinked (e.g. {"events": 3, "responses_unlinked": 1});
    it is audited as the erasure's completion, by the actor and for the audiences of the
    request. Whatever still points at the row then goes with it (cascade) or loses the link.
    Returns False when the row is gone already, or was never erased (nothing is done then).
    """
    deleted, _detail = Person.objects.filter(pk=person_id, erased_at__isnull=False).delete()
    if not deleted:
        return False
    requests: list[tuple[int | None, str, int | None]] = list(
        AuditLog.objects.filter(action=AuditAction.PERSON_ERASED, target=f"person {person_id}")
        .order_by("id")
        .values_list("actor_id", "actor_username", "audience_id")
    )
    AuditLog.objects.bulk_create(
        AuditLog(
            actor_id=actor_id,
            actor_username=actor_username,
            action=AuditAction.PERSON_ERASURE_COMPLETED,
            audience_id=audience_id,
            target=f"person {person_id}",
            detail=dict(counts),
        )
        for actor_id, actor_username, audience_id in requests or [(None, "", None)]
    )
    return True


# --- Django's change history -------------------------------------------------------------------

# Shorter names or ids would match unrelated words ("Al", "42"), scrubbing others' history.
MIN_MENTION_LENGTH = 3
# Word edges in a pattern both PostgreSQL (ARE) and Python's re (SQLite) read the same way.
_EDGE_BEFORE = r"(^|[^0-9A-Za-z_])"
_EDGE_AFTER = r"($|[^0-9A-Za-z_])"


def _rows_pointing_at(model: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """(model, foreign key name) of every model with a foreign key to `model`."""
    return [
        (relation.related_model, relation.field.name)  # type: ignore[misc, union-attr]
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created and not relation.concrete and relation.one_to_many
    ]


def _personal_objects(person: Person) -> list[tuple[type[models.Model], models.QuerySet[Any]]]:
    """The person's row, every row that points at it, and every row that points at those.

    Found through the foreign keys, so the apps above are never named here: a response and its
    answers, a case and its notes, an event and the invitations it triggered.
    """
    objects: list[tuple[type[models.Model], models.QuerySet[Any]]] = [
        (Person, Person.objects.filter(pk=person.pk))
    ]
    for model, to_person in _rows_pointing_at(Person):
        objects.append((model, model._default_manager.filter(**{to_person: person.pk})))
        for further, to_row in _rows_pointing_at(model):
            path = f"{to_row}__{to_person}"
            objects.append((further, further._default_manager.filter(**{path: person.pk})))
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
    consents, events, invitations, responses, answers, cases, case notes, …), or when its object
    repr or change message mentions them (a case note, an event title). One UPDATE (and, the
    first time, one SELECT of the content types): the object ids are subqueries, not lists.
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
