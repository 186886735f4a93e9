"""Writes for touchpoint events: the single way events enter the platform.

`record_event` stores one event, `events_record_bulk` many; both are idempotent on the caller's
`idempotency_key` (enforced by the unique constraint, not by looking first). Both emit
`event.recorded` with the ids of the new events (never of duplicates) in the transaction that
stores them: what follows an event (survey triggers) is owed exactly when the events commit
(xmplatform/flows.py says who handles it). `event_item_check` is the one check of an event
item's fields, for this module's bulk path and the API's.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from audiences.models import Person
from journeys.models import Touchpoint, TouchpointEvent
from xmplatform.core.outbox import outbox_emit

KEY_MAX_LENGTH = TouchpointEvent._meta.get_field("idempotency_key").max_length or 128


def _aware(value: dt.datetime, *, label: str = "occurred_at") -> dt.datetime:
    if timezone.is_naive(value):
        raise ValidationError(
            _("%(label)s has no time zone; send an aware time such as 2025-05-01T09:30:00+03:00.")
            % {"label": label},
            code="naive_datetime",
        )
    return value


@transaction.atomic
def record_event(
    *,
    person: Person,
    touchpoint: Touchpoint,
    occurred_at: dt.datetime,
    attributes: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> tuple[TouchpointEvent, bool]:
    """Store that `person` experienced `touchpoint` at `occurred_at`; returns (event, created).

    A key seen before returns the stored event with created=False (even if the other fields
    differ: the first write wins). Two concurrent calls with one key both return the same row:
    the loser's INSERT fails on the unique constraint inside a savepoint and it reads the
    winner's row instead. Raises ValidationError for a naive `occurred_at`.
    """
    _aware(occurred_at)
    if idempotency_key is not None and len(idempotency_key) > KEY_MAX_LENGTH:
        raise ValidationError(
            _("The idempotency key is longer than %(n)d characters.") % {"n": KEY_MAX_LENGTH},
            code="key_too_long",
        )
    event = TouchpointEvent(
        person=person,
        touchpoint=touchpoint,
        occurred_at=occurred_at,
        attributes=attributes or {},
        idempotency_key=idempotency_key or None,
    )
    if event.idempotency_key is None:
        event.save()
    else:
        try:
            with transaction.atomic():
                event.save()
        except IntegrityError:
            stored = TouchpointEvent.objects.filter(idempotency_key=event.idempotency_key).first()
            if stored is None:  # the constraint that failed was not the key's: a real error
                raise
            return stored, False
    outbox_emit("event.recorded", event_ids=[event.pk])
    return event, True


@dataclass(frozen=True)
class EventItem:
    """One event item whose fields are well-formed; its names are not looked up yet."""

    person: str
    touchpoint: str
    occurred_at: dt.datetime
    attributes: dict[str, Any]
    idempotency_key: str | None


@dataclass(frozen=True)
class EventItemProblem:
    """What is wrong with one field of an event item (`field` None: the item as a whole)."""

    field: str | None
    message: str


def _text(value: Any) -> str | None:
    """A name sent as text, or as a whole number (as ids often are); else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _occurred_at(value: Any) -> tuple[dt.datetime | None, str | None]:
    """(aware date-time, None), or (None, what is wrong with it)."""
    if value is None:
        return None, _("occurred_at is required (an ISO 8601 date-time).")
    parsed = value if isinstance(value, dt.datetime) else None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:  # well-formed but impossible, e.g. month 13
            return None, _("occurred_at %(value)s is not a valid date-time.") % {"value": value}
    if parsed is None:
        return None, _("occurred_at %(value)s is not an ISO 8601 date-time.") % {"value": value}
    if timezone.is_naive(parsed):
        return None, _(
            "%(label)s has no time zone; send an aware time such as 2025-05-01T09:30:00+03:00."
        ) % {"label": "occurred_at"}
    return parsed, None


def event_item_check(item: Any) -> tuple[EventItem | None, list[EventItemProblem]]:
    """Check one event item's fields: (the item, []) or (None, its problems, field by field).

    An item is a mapping: `person` (external id) and `touchpoint` (slug) as text (a whole number
    counts as text), `occurred_at` (an aware datetime, or ISO 8601 text with an offset), and
    optionally `attributes` (a mapping of names to values) and `idempotency_key` (text of at
    most KEY_MAX_LENGTH characters; empty means none). Whether the person and the touchpoint
    exist is for the caller to say (`events_record_bulk`, within what the caller may see).
    """
    if not isinstance(item, Mapping):
        return None, [EventItemProblem(None, _("Each item must be a JSON object."))]
    problems: list[EventItemProblem] = []
    person = _text(item.get("person"))
    if not person:
        problems.append(
            EventItemProblem("person", _("Name the person by their external id (a text)."))
        )
    touchpoint = _text(item.get("touchpoint"))
    if not touchpoint:
        problems.append(
            EventItemProblem("touchpoint", _("Name the touchpoint by its slug (a text)."))
        )
    occurred_at, problem = _occurred_at(item.get("occurred_at"))
    if problem:
        problems.append(EventItemProblem("occurred_at", problem))
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        problems.append(
            EventItemProblem("attributes", _("attributes must be an object of names to values."))
        )
    key = item.get("idempotency_key")
    if key is not None:
        key = _text(key)
        if key is None:
            problems.append(
                EventItemProblem("idempotency_key", _("The idempotency key must be a text."))
            )
        elif len(key) > KEY_MAX_LENGTH:
            problems.append(
                EventItemProblem(
                    "idempotency_key",
                    _("The idempotency key is longer than %(n)d characters.")
                    % {"n": KEY_MAX_LENGTH},
                )
            )
    if problems or not person or not touchpoint or occurred_at is None:
        return None, problems
    event = EventItem(
        person=person,
        touchpoint=touchpoint,
        occurred_at=occurred_at,
        attributes=attributes or {},
        idempotency_key=key or None,
    )
    return event, []


@dataclass(frozen=True)
class BulkEventError:
    """Why the item at `index` of a bulk call was not stored (one problem of one field)."""

    index: int
    field: str | None
    message: str


@dataclass
class BulkEventResult:
    """What `events_record_bulk` did with each item."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[BulkEventError] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)


# (person_id, touchpoint_id, occurred_at, attributes, idempotency_key)
_Row = tuple[int, int, dt.datetime, dict[str, Any], str | None]

_COLUMNS = (
    "person_id",
    "touchpoint_id",
    "occurred_at",
    "recorded_at",
    "attributes",
    "idempotency_key",
)


@transaction.atomic
def events_record_bulk(
    *,
    items: Sequence[Any],
    person_ids: Mapping[str, int] | None = None,
    touchpoint_ids: Mapping[str, int] | None = None,
) -> BulkEventResult:
    """Store many events at once; bad items are reported by index, good ones are stored.

    Each item is checked by `event_item_check` (an `EventItem` it returned is taken as
    checked). A key already stored, or repeated earlier in `items`, counts as a duplicate and is
    not stored again. A caller that has already looked up the people and touchpoints (by
    external id and slug, e.g. within an API key's audiences) passes them as `person_ids` and
    `touchpoint_ids`; names missing from them are unknown. The new events' ids go out as
    `event.recorded` in this transaction; duplicates emit nothing.

    Queries: people by external id and touchpoints by slug (unless given); one
    INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id of all the good items (the
    ids returned are exactly the new events, so a key stored before, or inserted concurrently
    by another caller, is a duplicate without being looked up); the outbox row when any is new.
    """
    result = BulkEventResult()
    checked: list[tuple[int, EventItem]] = []
    for index, item in enumerate(items):
        if isinstance(item, EventItem):
            checked.append((index, item))
            continue
        event, problems = event_item_check(item)
        if event is None:
            result.errors.extend(BulkEventError(index, p.field, p.message) for p in problems)
        else:
            checked.append((index, event))
    if person_ids is None:
        person_ids = dict(
            Person.objects.filter(external_id__in={e.person for _i, e in checked}).values_list(
                "external_id", "id"
            )
        )
    if touchpoint_ids is None:
        touchpoint_ids = dict(
            Touchpoint.objects.filter(slug__in={e.touchpoint for _i, e in checked}).values_list(
                "slug", "id"
            )
        )
    rows: list[_Row] = []
    seen: set[str] = set()
    for index, event in checked:
        person_id = person_ids.get(event.person)
        touchpoint_id = touchpoint_ids.get(event.touchpoint)
        if person_id is None:
            message = _("Unknown person %(id)s.") % {"id": event.person}
            result.errors.append(BulkEventError(index, "person", message))
        if touchpoint_id is None:
            message = _("Unknown touchpoint %(slug)s.") % {"slug": event.touchpoint}
            result.errors.append(BulkEventError(index, "touchpoint", message))
        if person_id is None or touchpoint_id is None:
            continue
        key = event.idempotency_key
        if key is not None:
            if key in seen:
                result.duplicates += 1
                continue
            seen.add(key)
        rows.append((person_id, touchpoint_id, event.occurred_at, event.attributes, key))
    result.errors.sort(key=lambda e: e.index)
    result.event_ids = _insert_new(rows) if rows else []
    result.accepted = len(result.event_ids)
    result.duplicates += len(rows) - result.accepted
    if result.event_ids:
        outbox_emit("event.recorded", event_ids=result.event_ids)
    return result


def _insert_new(rows: list[_Row]) -> list[int]:
    """INSERT `rows` in one statement, skipping keys already stored; the ids of the new rows.

    The rows travel as one JSON document that the database unpacks (jsonb_array_elements on
    PostgreSQL, json_each on SQLite): one parameter instead of six per row, which spares
    building a model instance and adapting every value in Python (most of a 1,000-event batch's
    cost through bulk_create).
    """
    # Concurrent batches that share keys take their locks in one order (the keys'), so two
    # of them sending the same keys in opposite orders wait for each other, never deadlock.
    rows = sorted(rows, key=lambda row: (row[4] is None, row[4] or ""))
    now = timezone.now()
    table = connection.ops.quote_name(TouchpointEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    if connection.vendor == "postgresql":
        document = json.dumps([[p, t, o.isoformat(), a, k] for p, t, o, a, k in rows])
        source = (
            "SELECT (r->>0)::bigint, (r->>1)::bigint, (r->>2)::timestamptz, %s, r->3, r->>4 "
            "FROM jsonb_array_elements(%s::jsonb) AS r"
        )
        params: list[Any] = [now, document]
    else:
        adapt = connection.ops.adapt_datetimefield_value
        document = json.dumps([[p, t, adapt(o), a, k] for p, t, o, a, k in rows])
        source = (
            "SELECT json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]'), "
            "json_extract(r.value, '$[2]'), %s, json(json_extract(r.value, '$[3]')), "
            "json_extract(r.value, '$[4]') FROM json_each(%s) AS r WHERE true"
        )
        params = [adapt(now), document]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) {source} "  # noqa: S608 - names from the model
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            params,
        )
        return [row[0] for row in cursor.fetchall()]
