"""API v1 audiences: list, create (keys for all audiences) and read one."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.services import audience_create
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api.permissions import AllAudiencesKey, HasApiKey
from xmplatform.api.views.base import (
    ApiView,
    errors,
    json_object,
)


class AudienceListView(ApiView):
    permission_classes = [HasApiKey, AllAudiencesKey]

    @extend_schema(responses={200: s.AudienceSerializer(many=True), **errors(401, 429)})
    def get(self, request: Request) -> Response:
        """The audiences this key may see."""
        audiences = selectors.audiences_visible(scope=self.scope).select_related("owner")
        return Response(s.AudienceSerializer(_audience_rows(audiences), many=True).data)

    @extend_schema(
        request=s.AudienceSerializer,
        responses={201: s.AudienceSerializer, **errors(400, 401, 403, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        """Create an audience (a key for all audiences only)."""
        serializer = s.AudienceSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        owner = get_user_model().objects.filter(username=data.pop("owner")).first()
        if owner is None:
            raise ValidationError({"owner": [_("No user has this username.")]})
        try:
            audience = audience_create(owner=owner, actor=None, actor_name=self.actor_name, **data)
        except IntegrityError as exc:
            raise ValidationError(
                {"slug": [_("An audience with this slug already exists.")]}
            ) from exc
        return Response(
            s.AudienceSerializer(_audience_rows([audience])[0]).data,
            status=status.HTTP_201_CREATED,
        )


def _audience_rows(audiences: Any) -> list[dict[str, Any]]:
    return [
        {
            "slug": a.slug,
            "name": a.name,
            "kind": a.kind,
            "owner": a.owner.get_username(),
            "priority": a.priority,
            "description": a.description,
            "requires_opt_in": a.requires_opt_in,
            "anonymity_threshold": a.anonymity_threshold,
            "created_at": a.created_at,
        }
        for a in audiences
    ]


class AudienceDetailView(ApiView):
    @extend_schema(responses={200: s.AudienceSerializer, **errors(401, 404, 429)})
    def get(self, request: Request, slug: str) -> Response:
        """One audience by its slug."""
        audience = (
            selectors.audiences_visible(scope=self.scope)
            .select_related("owner")
            .filter(slug=slug)
            .first()
        )
        if audience is None:
            raise Http404
        return Response(s.AudienceSerializer(_audience_rows([audience])[0]).data)
