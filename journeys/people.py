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


def journeys_person_timeline(
    *, person_id: int, audience_ids: list[int] | None, limit: int = 200
) -> list[dict[str, Any]]:
    """The person's latest `limit` touchpoint events in the given audiences (None: all).

    One query; each row names its touchpoint, stage, journey and audience.
    """
    events = TouchpointEvent.objects.filter(person_id=person_id)
    if audience_ids is not None:
        events = events.filter(touchpoint__stage__journey__audience_id__in=audience_ids)
    return list(
        events.order_by("-occurred_at", "-id").values(
            "id",
            "occurred_at",
            "touchpoint__name",
            "touchpoint__channel",
            "touchpoint__stage__name",
            "touchpoint__stage__journey__name",
            "touchpoint__stage__journey__name_translations",
            "touchpoint__stage__journey__audience_id",
        )[:limit]
    )
