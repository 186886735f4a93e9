"""API v1 surveys: list, create, read one with its questions, and change it.

Writes go through surveys.services.authoring, the service the admin builder saves with: the
same checks, the same messages (by field path, e.g. `questions[1].show_if`), the same versions.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.models import Question, Survey
from surveys.services.authoring import save_survey
from surveys.services.authoring.branding import branding_shape
from surveys.versions.changes import question_shape
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api import serializers_authoring as sa
from xmplatform.api.operations.common import check_id
from xmplatform.api.selectors import Scope
from xmplatform.api.views.base import (
    ApiView,
    errors,
    json_object,
)


def survey_data(survey: Survey) -> dict[str, Any]:
    """A survey in the shape GET returns and POST and PATCH take (one query: its questions)."""
    questions = Question.objects.filter(survey=survey, retired_in__isnull=True).order_by(
        "page", "order", "id"
    )
    data = dict(s.SurveySummarySerializer(survey).data)
    data.update(
        intro=survey.intro or {},
        thank_you=survey.thank_you or {},
        version=survey.version,
        reporting_period=survey.reporting_period,
        priority_class=survey.priority_class,
        response_limit=survey.response_limit,
        presentation=getattr(survey, "presentation", ""),
        branding=branding_shape(survey),
        questions=[question_shape(q) for q in questions],
    )
    return data


def _saved(data: dict[str, Any], scope: Scope, survey: Survey | None, actor: str) -> Survey:
    try:
        return save_survey(
            data, survey=survey, actor=actor, audiences=selectors.audiences_visible(scope=scope)
        )
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


class SurveyListView(ApiView):
    @extend_schema(responses={200: s.SurveySummarySerializer(many=True), **errors(401, 429)})
    def get(self, request: Request) -> Response:
        """The surveys of this key's audiences, newest first."""
        surveys = selectors.surveys_visible(scope=self.scope).order_by("-created_at", "-id")
        return Response(s.SurveySummarySerializer(surveys, many=True).data)

    @extend_schema(
        request=sa.SurveyWriteSerializer,
        responses={201: sa.SurveyDetailSerializer, **errors(400, 401, 403, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        """Create a survey with its questions in one of this key's audiences (checked as the
        admin builder checks it); omitted fields take their defaults."""
        survey = _saved(json_object(request), self.scope, None, self.actor_name)
        return Response(survey_data(survey), status=status.HTTP_201_CREATED)


def visible_survey(scope: Scope, survey_id: int) -> Survey:
    if not check_id(survey_id):
        raise Http404
    survey = selectors.surveys_visible(scope=scope).filter(pk=survey_id).first()
    if survey is None:
        raise Http404
    return survey


class SurveyDetailView(ApiView):
    @extend_schema(responses={200: sa.SurveyDetailSerializer, **errors(401, 404, 429)})
    def get(self, request: Request, survey_id: int) -> Response:
        """A survey with its questions: keys, types, scales, logic and texts per language."""
        return Response(survey_data(visible_survey(self.scope, survey_id)))

    @extend_schema(
        request=sa.SurveyWriteSerializer,
        responses={200: sa.SurveyDetailSerializer, **errors(400, 401, 403, 404, 413, 415, 429)},
    )
    def patch(self, request: Request, survey_id: int) -> Response:
        """Change the fields sent; `questions` replaces the questions, matched by key. Once the
        live version has responses, changed questions make a new version; a question with
        answers keeps its type and scale, and one left out is retired, not deleted."""
        survey = visible_survey(self.scope, survey_id)
        survey = _saved(json_object(request), self.scope, survey, self.actor_name)
        return Response(survey_data(survey))
