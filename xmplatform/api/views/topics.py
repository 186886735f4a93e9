"""API v1 topics: what people write about in one free-text question, and how it goes with scores."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.comments import selectors as comments
from xmplatform.api import selectors
from xmplatform.api.operations.common import check_id
from xmplatform.api.views.base import ApiView, date_param, errors

LANGUAGES = ("tr", "en")
MAX_KEY = 64


class TopicSerializer(serializers.Serializer):
    topic = serializers.IntegerField(help_text="The topic's id (stable across refits).")
    label = serializers.CharField(help_text="Its label: its top terms, or the team's name.")
    terms = serializers.ListField(
        child=serializers.CharField(), help_text="Its top terms, as words people wrote."
    )
    n = serializers.IntegerField(
        required=False,
        help_text="Comments filed under it. Absent (with share, sentiment and score) when an "
        "anonymous survey's topic would single out fewer than its anonymity threshold.",
    )
    share = serializers.FloatField(required=False, help_text="n over all comments (0–1).")
    sentiment = serializers.FloatField(required=False, help_text="Mean sentiment, −1…1.")
    score = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Mean outcome score (the survey's NPS, else CSAT answer) of the responses "
        "mentioning it; null without one.",
    )
    suppressed = serializers.BooleanField(
        required=False, help_text="True when the figures are withheld (not enough responses)."
    )


class TopicsSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Comments the figures are over.")
    as_of = serializers.DateTimeField(help_text="When the figures were read.")
    results = TopicSerializer(many=True, help_text="Most mentioned first; withheld ones last.")
    reason = serializers.CharField(required=False, help_text="Why there is nothing to show.")


class TopicsView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("survey", OpenApiTypes.INT, required=True),
            OpenApiParameter(
                "question",
                OpenApiTypes.STR,
                required=True,
                description="A free-text question's key.",
            ),
            OpenApiParameter("language", OpenApiTypes.STR, enum=list(LANGUAGES)),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First completion day."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last completion day."),
        ],
        responses={200: TopicsSerializer, **errors(400, 401, 404, 429)},
        description="The topics of one free-text question (NMF over TF-IDF of Turkish and "
        "English stems, refined by the XM team), each with its number and share of comments, "
        "mean sentiment and the mean outcome score of the responses mentioning it. Named "
        "surveys: exact and fresh (within the pipeline's five minutes). Anonymous surveys: "
        "whole published reporting periods starting in the window, each with at least the "
        "anonymity threshold of commenters; a topic's figures only when, in every period, the "
        "people mentioning it and those who do not are each none or at least that threshold; "
        "no language filter.",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        survey_id = _survey_param(request)
        key = params.get("question") or ""
        if not key:
            raise ValidationError({"question": _("Name a free-text question by its key.")})
        if len(key) > MAX_KEY:
            raise ValidationError(
                {"question": _("A question key has at most %(n)d characters.") % {"n": MAX_KEY}}
            )
        language = params.get("language") or None
        if language is not None and language not in LANGUAGES:
            raise ValidationError(
                {"language": _("Use one of: %(v)s.") % {"v": ", ".join(LANGUAGES)}}
            )
        date_from, date_to = date_param(request, "from"), date_param(request, "to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError({"from": _("from must not be after to.")})
        survey = (
            selectors.surveys_visible(scope=self.scope)
            .select_related("audience")
            .filter(pk=survey_id)
            .first()
        )
        if survey is None:
            raise Http404
        questions = comments.text_questions(survey)
        question = next((q for q in questions if q.key == key), None)
        if question is None:
            message = (
                _("Use the key of one of this survey's free-text questions: %(v)s.")
                % {"v": ", ".join(q.key for q in questions)}
                if questions
                else _("This survey has no free-text question.")
            )
            raise ValidationError({"question": message})
        report = comments.topic_report(
            survey=survey,
            question=question,
            language=language,
            date_from=date_from,
            date_to=date_to,
        )
        body: dict[str, object] = {
            "n": report.n,
            "as_of": report.as_of.isoformat(),
            "results": [_result(row) for row in report.rows],
        }
        if report.reason:
            body["reason"] = report.reason
        return Response(body)


def _result(row: comments.TopicRow) -> dict[str, object]:
    """One topic: its figures, or none of them (not even nulls) when withheld."""
    base: dict[str, object] = {"topic": row.topic, "label": row.label, "terms": row.terms}
    if not row.shown:
        return {**base, "suppressed": True}
    return {
        **base,
        "n": row.n,
        "share": row.share,
        "sentiment": row.sentiment,
        "score": row.score,
    }


def _survey_param(request: Request) -> int:
    raw = request.query_params.get("survey")
    if raw in (None, ""):
        raise ValidationError({"survey": _("Name a survey by its id.")})
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not check_id(value):
        raise ValidationError({"survey": _("Give a survey by its id (got %(v)s).") % {"v": raw}})
    return value
