"""API v1 surveys: list them and read one with its questions."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from surveys.models import Question, Survey
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api.operations.common import check_id
from xmplatform.api.operations.shapes import question_data
from xmplatform.api.selectors import Scope
from xmplatform.api.views.base import (
    ApiView,
    errors,
)


class SurveyListView(ApiView):
    @extend_schema(responses={200: s.SurveySummarySerializer(many=True), **errors(401, 429)})
    def get(self, request: Request) -> Response:
        """The surveys of this key's audiences, newest first."""
        surveys = selectors.surveys_visible(scope=self.scope).order_by("-created_at", "-id")
        return Response(s.SurveySummarySerializer(surveys, many=True).data)


def visible_survey(scope: Scope, survey_id: int) -> Survey:
    if not check_id(survey_id):
        raise Http404
    survey = selectors.surveys_visible(scope=scope).filter(pk=survey_id).first()
    if survey is None:
        raise Http404
    return survey


class SurveyDetailView(ApiView):
    @extend_schema(responses={200: s.SurveySerializer, **errors(401, 404, 429)})
    def get(self, request: Request, survey_id: int) -> Response:
        """A survey with its questions: keys, types, scales, logic and texts per language."""
        survey = visible_survey(self.scope, survey_id)
        questions = Question.objects.filter(survey=survey).order_by("page", "order", "id")
        data = s.SurveySummarySerializer(survey).data
        data.update(
            intro=survey.intro or {},
            thank_you=survey.thank_you or {},
            questions=[question_data(q) for q in questions],
        )
        return Response(data)
