"""API v1 touchpoint events: record them in batches."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from xmplatform.api import serializers as s
from xmplatform.api.operations.events import events_submit
from xmplatform.api.views.base import (
    ApiView,
    errors,
    list_body,
)


class EventsView(ApiView):
    @extend_schema(
        request=s.EventItemSerializer(many=True),
        responses={200: s.EventsResultSerializer, **errors(400, 401, 403, 413, 415, 429)},
        description="Record up to 1,000 touchpoint events; idempotent on idempotency_key. "
        "Events fire the distribution triggers.",
    )
    def post(self, request: Request) -> Response:
        items = list_body(request)
        return Response(events_submit(items=items, scope=self.scope))
