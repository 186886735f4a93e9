"""Writes for touchpoint events: the single way events enter the platform.

`record_event` stores one event, `events_record_bulk` many; both are idempotent on the caller's
`idempotency_key` (enforced by the unique constraint, not by looking first) and both end in
`_after_events`, the one place where what follows an event (survey triggers) attaches.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial, update_wrapper
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from audiences.models import Person
from journeys.hooks import event_listeners
from journeys.models import Touchpoint, TouchpointEvent

KEY_MAX_LENGTH = TouchpointEvent._meta.get_field("idempotency_key").max_length or 128


def _after_events(event_ids: list[int]) -> None:
    """Hand newly stored events to the registered listeners once the transaction commits.

    This is where distribution triggers attach: an app registers a listener with
    `journeys.hooks.register_event_listener` in its AppConfig.ready(), and receives the ids of
    new events (never of duplicates) after commit, so a rolled-back write triggers nothing.
    `robust=True` keeps one failing listener from silencing the others (the error is logged).
    """
    if not event_ids:
        return
    ids = list(event_ids)
    for listener in event_listeners():
        # update_wrapper gives the partial the listener's __qualname__, which Django's robust
        # on_commit names in its error log.
        transaction.on_commit(update_wrapper(partial(listener, ids), listener), robust=True)


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
    _after_events([event.pk])
    return event, True


@dataclass
class BulkEventError:
    """Why the item at `index` of a bulk call was not stored."""

    index: int
    message: str


@dataclass
class BulkEventResult:
    """What `events_record_bulk` did with each item."""

    accepted: int = 0
    duplicates: int = 0
    errors: list[BulkEventError] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)


def _parse_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValidationError(
                _("occurred_at %(value)s is not an ISO 8601 date-time.") % {"value": value}
            )
        value = parsed
    if not isinstance(value, dt.datetime):
        raise ValidationError(_("occurred_at is required (an ISO 8601 date-time)."))
    return _aware(value)


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
    items: list[dict[str, Any]],
    person_ids: Mapping[str, int] | None = None,
    touchpoint_ids: Mapping[str, int] | None = None,
) -> BulkEventResult:
    """Store many events at once; bad items are reported by index, good ones are stored.

    Each item: `person` (external id), `touchpoint` (slug), `occurred_at` (aware datetime or
    ISO 8601 string with offset), optional `attributes` (dict) and `idempotency_key`. A key
    already stored, or repeated earlier in `items`, counts as a duplicate and is not stored again.
    A caller that has already looked up the people and touchpoints (by external id and slug)
    passes them as `person_ids` and `touchpoint_ids`; names missing from them are unknown.

    Queries: people by external id and touchpoints by slug (unless given), then one
    INSERT … ON CONFLICT (idempotency_key) DO NOTHING RETURNING id of all the good items: the
    ids returned are exactly the new events, so a key stored before, or inserted concurrently
    by another caller, is a duplicate without being looked up.
    """
    result = BulkEventResult()
    if person_ids is None:
        person_ids = dict(
            Person.objects.filter(
                external_id__in={str(i.get("person")) for i in items if i.get("person")}
            ).values_list("external_id", "id")
        )
    if touchpoint_ids is None:
        touchpoint_ids = dict(
            Touchpoint.objects.filter(
                slug__in={str(i.get("touchpoint")) for i in items if i.get("touchpoint")}
            ).values_list("slug", "id")
        )
    rows: list[_Row] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            row = _bulk_item(item, person_ids, touchpoint_ids)
        except ValidationError as exc:
            result.errors.append(BulkEventError(index=index, message=" ".join(exc.messages)))
            continue
        key = row[4]
        if key is not None:
            if key in seen:
                result.duplicates += 1
                continue
            seen.add(key)
        rows.append(row)
    result.event_ids = _insert_new(rows) if rows else []
    result.accepted = len(result.event_ids)
    result.duplicates += len(rows) - result.accepted
    _after_events(result.event_ids)
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


def _bulk_item(
    item: dict[str, Any], person_ids: Mapping[str, int], touchpoint_ids: Mapping[str, int]
) -> _Row:
    errors: list[str] = []
    person_id = person_ids.get(str(item.get("person") or ""))
    if person_id is None:
        errors.append(_("Unknown person %(id)s.") % {"id": item.get("person")})
    touchpoint_id = touchpoint_ids.get(str(item.get("touchpoint") or ""))
    if touchpoint_id is None:
        errors.append(_("Unknown touchpoint %(slug)s.") % {"slug": item.get("touchpoint")})
    occurred_at = None
    try:
        occurred_at = _parse_time(item.get("occurred_at"))
    except ValidationError as exc:
        errors.extend(exc.messages)
    attributes = item.get("attributes") or {}
    if not isinstance(attributes, dict):
        errors.append(_("attributes must be an object of names to values."))
    key = item.get("idempotency_key") or None
    if key is not None and len(str(key)) > KEY_MAX_LENGTH:
        errors.append(
            _("The idempotency key is longer than %(n)d characters.") % {"n": KEY_MAX_LENGTH}
        )
    if errors or person_id is None or touchpoint_id is None or occurred_at is None:
        raise ValidationError(errors)
    key = str(key) if key is not None else None
    return (person_id, touchpoint_id, occurred_at, attributes, key)
