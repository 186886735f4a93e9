"""API v1 responses: list a named survey's completed responses, and record one."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.models import Survey
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api.operations.responses import response_post
from xmplatform.api.views.base import (
    ApiListView,
    ApiView,
    Pagination,
    errors,
    json_object,
    since_param,
)
from xmplatform.api.views.surveys import visible_survey


class ResponsePagination(Pagination):
    ordering = "id"


ANONYMOUS_RESPONSES = OpenApiResponse(
    s.ErrorSerializer,
    description="The survey is anonymous: its responses are never listed one by one, to any "
    "key. Read its results, per reporting period and for groups of at least the audience's "
    "anonymity threshold, from GET /api/v1/scores/.",
)


def refuse_anonymous(survey: Survey) -> None:
    """A 403 that says where an anonymous survey's results are: never its single responses."""
    if survey.anonymous:
        raise PermissionDenied(
            _(
                "Survey %(id)s is anonymous: its responses are never listed one by one. Read "
                "its results per reporting period from /api/v1/scores/?audience=%(audience)s"
                "&metric=…&by=survey."
            )
            % {"id": survey.pk, "audience": survey.audience.slug}
        )


class SurveyResponsesView(ApiListView):
    serializer_class = s.ResponseSerializer
    pagination_class = ResponsePagination

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.STR,
                description="Responses completed at or after this date (YYYY-MM-DD) or moment "
                "(ISO 8601 with offset).",
            )
        ],
        responses={
            200: s.ResponseSerializer(many=True),
            403: ANONYMOUS_RESPONSES,
            **errors(400, 401, 404, 429),
        },
        description="Completed responses of a named survey, oldest first, cursor-paged; since "
        "a day or a moment. An anonymous survey answers 403: its responses are never listed "
        "one by one; its results per reporting period are at GET /api/v1/scores/.",
    )
    def get(self, request: Request, survey_id: int) -> Response:
        survey = visible_survey(self.scope, survey_id)
        refuse_anonymous(survey)
        since = since_param(request)
        responses = selectors.responses_completed(survey=survey, since=since)
        page = self.paginate_queryset(responses)
        data = selectors.responses_data(responses=page)
        return self.get_paginated_response(s.ResponseSerializer(data, many=True).data)


class ResponsesView(ApiView):
    @extend_schema(
        request=s.ResponseSubmitSerializer,
        responses={
            201: s.ResponseSerializer,
            409: OpenApiResponse(
                s.ResponseConflictSerializer, description="The invitation was already answered."
            ),
            410: OpenApiResponse(
                s.ResponseConflictSerializer,
                description="The survey is closed, full or the invitation expired.",
            ),
            **errors(400, 401, 403, 413, 415, 429),
        },
        description="Record a response collected on another channel, validated like the "
        "hosted page; one response per invitation. For an anonymous survey the reply carries "
        "no person, invitation, segment, time or answers.",
    )
    def post(self, request: Request) -> Response:
        serializer = s.ResponseSubmitSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        body, code = response_post(scope=self.scope, **serializer.validated_data)
        return Response(body, status=code)
