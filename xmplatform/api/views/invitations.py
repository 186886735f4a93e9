"""API v1 invitations: list them, and ask for one through the fatigue guard."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from surveys import selectors as survey_selectors
from surveys.models import InvitationState
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api.operations.invitations import invitation_submit
from xmplatform.api.views.base import (
    ApiListView,
    Pagination,
    errors,
    json_object,
)


class InvitationPagination(Pagination):
    ordering = "-id"


ANONYMOUS_STATE = (
    "An anonymous survey's invitation that was opened or answered shows as `sent` until the "
    "reporting period it was answered in is published, then as `responded` (never `opened`): "
    "its state never tells when someone answered. The `state` filter filters on this shown "
    "state."
)


class InvitationListView(ApiListView):
    serializer_class = s.InvitationSerializer
    pagination_class = InvitationPagination

    def get_queryset(self) -> Any:
        qs = selectors.invitations_visible(scope=self.scope)
        params = self.request.query_params
        survey = params.get("survey")
        if survey not in (None, ""):
            if not survey.isdigit() or int(survey) > 2**63 - 1:
                raise ValidationError({"survey": _("Use a survey id (a whole number).")})
            qs = qs.filter(survey_id=int(survey))
        state = params.get("state")
        if state not in (None, ""):
            if state not in InvitationState.values:
                raise ValidationError(
                    {"state": _("Use one of: %(v)s.") % {"v": ", ".join(InvitationState.values)}}
                )
            # On the state shown, never the stored one (see surveys.selectors).
            qs = survey_selectors.invitations_in_shown_state(qs, state=state)
        else:
            qs = survey_selectors.invitations_shown(qs)
        person = params.get("person")
        if person not in (None, ""):
            qs = qs.filter(person__external_id=person)
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("survey", OpenApiTypes.INT, description="Survey id."),
            OpenApiParameter(
                "state",
                OpenApiTypes.STR,
                enum=InvitationState.values,
                description=ANONYMOUS_STATE,
            ),
            OpenApiParameter("person", OpenApiTypes.STR, description="External id."),
        ],
        responses={200: s.InvitationSerializer(many=True), **errors(400, 401, 429)},
        description="Invitations, newest first, cursor-paged; filter by survey, state or "
        "person. " + ANONYMOUS_STATE,
    )
    def get(self, request: Request) -> Response:
        """Invitations, newest first, cursor-paged; filter by survey, state or person."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.InvitationSerializer(page, many=True).data)

    @extend_schema(
        request=s.InvitationRequestSerializer,
        responses={
            201: s.InvitationCreatedSerializer,
            200: s.InvitationSuppressedSerializer,
            **errors(400, 401, 403, 413, 415, 429),
        },
        description="Ask for one invitation through the fatigue guard. Channels the caller "
        "delivers itself (api, app, web) are sent at once; the others are planned for the "
        "platform's dispatcher. The reply carries the invitation's url and token, except for "
        "an ANONYMOUS survey: its link is never handed to anyone but the person, so the "
        "platform delivers it on its own channel (e-mail, SMS, WhatsApp: caller channels are "
        "refused with a 400), the reply has `url` and `token` null and `link_withheld` true, "
        "and the request is recorded in the audit log with the key's name.",
    )
    def post(self, request: Request) -> Response:
        serializer = s.InvitationRequestSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        body, code = invitation_submit(
            scope=self.scope, actor_name=self.actor_name, **serializer.validated_data
        )
        return Response(body, status=code)
