"""What journeys holds of one person (their touchpoint events): erased and exported from above.

xmplatform.people calls these for a person's erasure and export; journeys never learns who asks.
"""

from __future__ import annotations

from typing import Any

from audiences.selectors import iso
from journeys.models import TouchpointEvent


def journeys_person_erase(*, person_id: int) -> dict[str, int]:
    """Delete the person's touchpoint events; returns {"events": how many}.

    Run after surveys unlinked the invitations the events triggered, so nothing is left to
    update through them.
    """
    _total, deleted = TouchpointEvent.objects.filter(person_id=person_id).delete()
    return {"events": deleted.get(TouchpointEvent._meta.label, 0)}


def journeys_person_export(*, person_id: int) -> dict[str, Any]:
    """The person's touchpoint events, oldest first, as JSON-ready data (one query)."""
    events = [
        {
            "touchpoint": e["touchpoint__slug"],
            "occurred_at": iso(e["occurred_at"]),
            "recorded_at": iso(e["recorded_at"]),
            "attributes": e["attributes"],
        }
        for e in TouchpointEvent.objects.filter(person_id=person_id)
        .order_by("occurred_at", "id")
        .values("touchpoint__slug", "occurred_at", "recorded_at", "attributes")
    ]
    return {"events": events}
