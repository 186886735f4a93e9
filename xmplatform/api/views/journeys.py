"""API v1 journeys: each with its stages and their touchpoints, whose slugs events are sent with."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from journeys.models import Journey, Stage, Touchpoint
from xmplatform.api import serializers_authoring as sa
from xmplatform.api.operations.common import check_id
from xmplatform.api.selectors import Scope
from xmplatform.api.views.base import ApiView, errors


def journeys_visible(*, scope: Scope) -> QuerySet[Journey]:
    """Journeys of the key's audiences with stages and touchpoints in order (three queries)."""
    stages = Stage.objects.order_by("order", "id").prefetch_related(
        Prefetch("touchpoints", queryset=Touchpoint.objects.order_by("order", "id"))
    )
    qs = Journey.objects.select_related("audience").prefetch_related(
        Prefetch("stages", queryset=stages)
    )
    if scope.audience_ids is not None:
        qs = qs.filter(audience_id__in=scope.audience_ids)
    return qs.order_by("audience__slug", "name", "id")


def journey_data(journey: Journey) -> dict[str, Any]:
    names = getattr(journey, "name_translations", None) or {}
    return {
        "id": journey.pk,
        "name": journey.name,
        "names": {str(k): str(v) for k, v in names.items() if isinstance(v, str) and v},
        "audience": journey.audience.slug,
        "description": journey.description,
        "stages": [
            {
                "id": stage.pk,
                "name": stage.name,
                "order": stage.order,
                "touchpoints": [
                    {
                        "slug": t.slug,
                        "name": t.name,
                        "channel": t.channel,
                        "role": t.role,
                        "order": t.order,
                    }
                    for t in stage.touchpoints.all()
                ],
            }
            for stage in journey.stages.all()
        ],
    }


class JourneyListView(ApiView):
    @extend_schema(responses={200: sa.JourneySerializer(many=True), **errors(401, 429)})
    def get(self, request: Request) -> Response:
        """The journeys of this key's audiences, each with its stages and touchpoints (the
        slugs to send events with)."""
        return Response([journey_data(j) for j in journeys_visible(scope=self.scope)])


class JourneyDetailView(ApiView):
    @extend_schema(responses={200: sa.JourneySerializer, **errors(401, 404, 429)})
    def get(self, request: Request, journey_id: int) -> Response:
        """One journey with its stages in order and their touchpoints' slugs."""
        journey = (
            journeys_visible(scope=self.scope).filter(pk=journey_id).first()
            if check_id(journey_id)
            else None
        )
        if journey is None:
            raise Http404
        return Response(journey_data(journey))
