"""API v1 distribution rules: create a trigger or a wave for a survey of this key's audiences."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from xmplatform.api import serializers_authoring as sa
from xmplatform.api.operations.distribution_rules import distribution_rule_create
from xmplatform.api.views.base import ApiView, errors, json_object


class DistributionRuleListView(ApiView):
    @extend_schema(
        request=sa.DistributionRuleWriteSerializer,
        responses={201: sa.DistributionRuleSerializer, **errors(400, 401, 403, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        """Create a distribution rule: a trigger (a touchpoint's events invite, after a delay,
        sampled) or a wave (the audience or a segment, once or on a schedule). Checked as the
        admin's rule form checks it."""
        data = distribution_rule_create(body=json_object(request), scope=self.scope)
        return Response(data, status=status.HTTP_201_CREATED)
