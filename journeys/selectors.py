"""Reads for journeys: the journey map with recent event counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Prefetch
from django.utils import timezone

from journeys.models import Journey, Stage, Touchpoint, TouchpointEvent

MAP_WINDOW_DAYS = 30


@dataclass
class MapTouchpoint:
    touchpoint: Touchpoint
    recent_events: int

    @property
    def role_label(self) -> str:
        """The role's translated name without its note on attributes ("Purchase")."""
        return self.role_title.split(" (")[0]

    @property
    def role_title(self) -> str:
        """The role's full translated label, or "" for none."""
        if not self.touchpoint.role:
            return ""
        return str(self.touchpoint.get_role_display())


@dataclass
class MapStage:
    stage: Stage
    touchpoints: list[MapTouchpoint] = field(default_factory=list)


def journey_map(*, journey: Journey, now: dt.datetime | None = None) -> list[MapStage]:
    """The journey's stages in order, each with its touchpoints and their recent event counts.

    Three queries whatever the journey's size: stages, their touchpoints (prefetched), and one
    grouped count of the events of the last MAP_WINDOW_DAYS days.
    """
    since = (now or timezone.now()) - dt.timedelta(days=MAP_WINDOW_DAYS)
    stages = list(
        Stage.objects.filter(journey=journey)
        .order_by("order", "id")
        .prefetch_related(
            Prefetch("touchpoints", queryset=Touchpoint.objects.order_by("order", "id"))
        )
    )
    ids = [tp.pk for stage in stages for tp in stage.touchpoints.all()]
    # Filtering by touchpoint ids (not through the joins) lets the (touchpoint, occurred_at)
    # index answer the count.
    counts = dict(
        TouchpointEvent.objects.filter(touchpoint_id__in=ids, occurred_at__gte=since)
        .values_list("touchpoint_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        MapStage(
            stage=stage,
            touchpoints=[
                MapTouchpoint(touchpoint=tp, recent_events=counts.get(tp.pk, 0))
                for tp in stage.touchpoints.all()
            ],
        )
        for stage in stages
    ]
