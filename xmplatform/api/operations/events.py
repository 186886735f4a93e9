"""Touchpoint events in batches for the API: resolve each item's person and touchpoint within
the key's scope, and store the good ones with journeys.services (which checks every item).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from journeys.services import EventItem, event_item_check, events_record_bulk
from xmplatform.api import selectors
from xmplatform.api.operations.common import item_error
from xmplatform.api.selectors import Scope


def events_submit(*, items: Sequence[Any], scope: Scope) -> dict[str, Any]:
    """Check each item (journeys.services.event_item_check), resolve its person and touchpoint
    within the key's scope, and store the good ones with journeys.services.events_record_bulk.

    People and touchpoints outside the key's audiences are reported exactly like unknown ones.
    Queries: people, touchpoints, then the service's INSERT (and its outbox row).
    """
    checked: list[EventItem | Any] = []
    for item in items:
        event, _problems = event_item_check(item)
        # A checked item goes on as such; a bad one as it came, for the service to report.
        checked.append(event if event is not None else item)
    good = [e for e in checked if isinstance(e, EventItem)]
    people: dict[str, int] = {}
    touchpoints: dict[str, int] = {}
    if good:
        people = dict(
            selectors.people_visible(scope=scope)
            .filter(external_id__in=selectors.texts_in({e.person for e in good}))
            .values_list("external_id", "id")
        )
        touchpoints = dict(
            selectors.touchpoints_visible(scope=scope)
            .filter(slug__in={e.touchpoint for e in good})
            .values_list("slug", "id")
        )
    result = events_record_bulk(items=checked, person_ids=people, touchpoint_ids=touchpoints)
    return {
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "errors": [item_error(e.index, e.field, e.message) for e in result.errors],
    }
