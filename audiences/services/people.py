"""Writes for people and memberships: upserts, joining and leaving audiences.

Everything that touches many people is set-based: one SELECT per chunk to find who exists, one
bulk INSERT for the new rows, one bulk UPDATE for the rows that really changed. Running the same
input twice therefore writes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audiences.models import Audience, Membership, Person

UPSERT_CHUNK = 2000
PERSON_FIELDS = ("email", "phone", "name", "language", "time_zone")


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
