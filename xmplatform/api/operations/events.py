"""Touchpoint events in batches for the API: check each item, resolve its person and
touchpoint within the key's scope, and store the good ones with journeys.services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from journeys.models import TouchpointEvent
from journeys.services import events_record_bulk
from xmplatform.api import selectors
from xmplatform.api.operations.common import as_text, item_error
from xmplatform.api.selectors import Scope

EVENT_KEY_MAX_LENGTH = TouchpointEvent._meta.get_field("idempotency_key").max_length or 128


# --- Events ------------------------------------------------------------------------------


def _occurred_at(value: Any) -> tuple[dt.datetime | None, str | None]:
    """(aware date-time, None), or (None, what is wrong with it)."""
    if value is None:
        return None, _("occurred_at is required (an ISO 8601 date-time).")
    parsed = None
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


def _event_item(index: int, item: Any, errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The item with its names as text and occurred_at parsed, or None (errors appended)."""
    if not isinstance(item, dict):
        errors.append(item_error(index, None, _("Each item must be a JSON object.")))
        return None
    problems: list[dict[str, Any]] = []
    person = as_text(item.get("person"))
    if not person:
        problems.append(
            item_error(index, "person", _("Name the person by their external id (a text)."))
        )
    touchpoint = as_text(item.get("touchpoint"))
    if not touchpoint:
        problems.append(
            item_error(index, "touchpoint", _("Name the touchpoint by its slug (a text)."))
        )
    occurred_at, problem = _occurred_at(item.get("occurred_at"))
    if problem:
        problems.append(item_error(index, "occurred_at", problem))
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        problems.append(
            item_error(index, "attributes", _("attributes must be an object of names to values."))
        )
    key = item.get("idempotency_key")
    if key is not None:
        key = as_text(key)
        if key is None:
            problems.append(
                item_error(index, "idempotency_key", _("The idempotency key must be a text."))
            )
        elif len(key) > EVENT_KEY_MAX_LENGTH:
            problems.append(
                item_error(
                    index,
                    "idempotency_key",
                    _("The idempotency key is longer than %(n)d characters.")
                    % {"n": EVENT_KEY_MAX_LENGTH},
                )
            )
    if problems:
        errors.extend(problems)
        return None
    return {
        "person": person,
        "touchpoint": touchpoint,
        "occurred_at": occurred_at,
        "attributes": attributes,
        "idempotency_key": key,
    }


def events_submit(*, items: Sequence[Any], scope: Scope) -> dict[str, Any]:
    """Check each item's fields, resolve its person and touchpoint within the key's scope, and
    store the good ones with journeys.services.events_record_bulk.

    People and touchpoints outside the key's audiences are reported exactly like unknown ones.
    Queries: people, touchpoints, then the service's one INSERT.
    """
    errors: list[dict[str, Any]] = []
    good: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(items):
        checked = _event_item(index, item, errors)
        if checked is not None:
            good.append((index, checked))
    people: dict[str, int] = {}
    touchpoints: dict[str, int] = {}
    if good:
        people = dict(
            selectors.people_visible(scope=scope)
            .filter(external_id__in=selectors.texts_in({i["person"] for _x, i in good}))
            .values_list("external_id", "id")
        )
        touchpoints = dict(
            selectors.touchpoints_visible(scope=scope)
            .filter(slug__in={i["touchpoint"] for _x, i in good})
            .values_list("slug", "id")
        )
    kept: list[tuple[int, dict[str, Any]]] = []
    for index, item in good:
        known = True
        if item["person"] not in people:
            errors.append(
                item_error(index, "person", _("Unknown person %(id)s.") % {"id": item["person"]})
            )
            known = False
        if item["touchpoint"] not in touchpoints:
            errors.append(
                item_error(
                    index,
                    "touchpoint",
                    _("Unknown touchpoint %(slug)s.") % {"slug": item["touchpoint"]},
                )
            )
            known = False
        if known:
            kept.append((index, item))
    result = events_record_bulk(
        items=[item for _i, item in kept], person_ids=people, touchpoint_ids=touchpoints
    )
    errors.extend(item_error(kept[e.index][0], None, e.message) for e in result.errors)
    errors.sort(key=lambda e: e["index"])
    return {"accepted": result.accepted, "duplicates": result.duplicates, "errors": errors}
