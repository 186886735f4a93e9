"""API v1 key drivers: what moves an outcome score of one survey, from the cached analysis."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.drivers import selectors as drivers
from metrics.drivers import tasks
from metrics.drivers.matrix import DriverFilters
from xmplatform.api import selectors
from xmplatform.api.operations.common import check_id
from xmplatform.api.views.base import ApiView, date_param, errors

RETRY_AFTER_SECONDS = 30
MAX_SEGMENT = 100


class DriverSerializer(serializers.Serializer):
    driver = serializers.CharField(
        help_text="`<question key>` (a scored question), `<question key>=<choice value>` (one "
        "option of a choice question, 1 when chosen) or `touchpoint:<slug>` (experienced in the "
        "days before answering; named surveys only)."
    )
    label = serializers.CharField(help_text="The driver's name in the request's language.")
    importance = serializers.FloatField(help_text="Share of the explained variance (sums to 1).")
    low = serializers.FloatField(help_text="95 % bootstrap interval of the share: low end.")
    high = serializers.FloatField(help_text="95 % bootstrap interval of the share: high end.")
    performance = serializers.FloatField(
        help_text="Scored drivers: the mean on 0–100 of the question's scale; options and "
        "touchpoints: the share (%) of respondents with it."
    )
    correlation = serializers.FloatField(
        help_text="Correlation with the outcome: its sign says which way the driver pulls."
    )
    kind = serializers.ChoiceField(choices=["score", "choice", "touchpoint"])


class DriversSerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="The outcome question's key.")
    n = serializers.IntegerField(help_text="Responses analysed.")
    r2 = serializers.FloatField(
        required=False, help_text="Share of the outcome's variance the drivers explain."
    )
    as_of = serializers.DateTimeField(
        required=False,
        help_text="When the analysis was computed (recomputed within minutes of new responses).",
    )
    results = DriverSerializer(many=True, help_text="Ranked by importance; empty with a reason.")
    reason = serializers.CharField(
        required=False, help_text="Why there are no results (too little data, anonymity)."
    )
    reason_code = serializers.CharField(required=False)


class DriversView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("survey", OpenApiTypes.INT, required=True),
            OpenApiParameter(
                "outcome",
                OpenApiTypes.STR,
                required=True,
                description="Key of the survey's NPS, CSAT or rating question to explain.",
            ),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First completion day."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last completion day."),
            OpenApiParameter("segment", OpenApiTypes.STR, description="Only this segment."),
            OpenApiParameter(
                "field",
                OpenApiTypes.STR,
                description="Only responses with this hidden field value, as name:value "
                "(e.g. store:Kadıköy).",
            ),
        ],
        responses={
            200: DriversSerializer,
            202: OpenApiResponse(
                DriversSerializer,
                description='Being computed: `{"n": 0, "results": [], "reason": "computing"}`; '
                "ask again after Retry-After seconds.",
            ),
            **errors(400, 401, 404, 429),
        },
        description="Key-driver analysis of one outcome question: each driver's relative "
        "importance (relative weights, Johnson 2000: its share of the explained variance) with "
        "a 95 % bootstrap interval, its performance, the model's R² and n. Drivers are the "
        "survey's other scored questions, one indicator per option of its choice questions and "
        "the touchpoints respondents experienced in the 30 days before answering. Below 30 "
        "responses, and for anonymous surveys outside whole published reporting periods (or for "
        "a segment the dashboard would not show), `results` is empty and `reason` says why.",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        survey_id = _survey_param(request)
        outcome = params.get("outcome") or ""
        if not outcome:
            raise ValidationError({"outcome": _("Name the outcome question by its key.")})
        date_from, date_to = date_param(request, "from"), date_param(request, "to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError({"from": _("from must not be after to.")})
        segment = params.get("segment") or None
        if segment is not None and len(segment) > MAX_SEGMENT:
            raise ValidationError(
                {"segment": _("A segment has at most %(n)d characters.") % {"n": MAX_SEGMENT}}
            )
        survey = selectors.surveys_visible(scope=self.scope).filter(pk=survey_id).first()
        if survey is None:
            raise Http404
        hidden_field = params.get("field") or None
        if hidden_field is not None:
            name = hidden_field.split(":", 1)[0]
            if ":" not in hidden_field or len(hidden_field) > MAX_SEGMENT + 41:
                raise ValidationError(
                    {"field": _("Give a hidden field and its value as name:value.")}
                )
            if name not in (survey.hidden_fields or []):
                raise ValidationError(
                    {
                        "field": _("“%(name)s” is not a hidden field of this survey.")
                        % {"name": name}
                    }
                )
        keys = [q.key for q in drivers.outcome_questions(survey_id=survey.pk)]
        if outcome not in keys:
            message = (
                _("Use the key of one of this survey's NPS, CSAT or rating questions: %(v)s.")
                % {"v": ", ".join(keys)}
                if keys
                else _("This survey has no NPS, CSAT or rating question to explain.")
            )
            raise ValidationError({"outcome": message})
        filters = DriverFilters(
            date_from=date_from, date_to=date_to, segment=segment, hidden_field=hidden_field
        )
        row = drivers.analysis_cached(survey_id=survey.pk, outcome=outcome, filters=filters)
        if row is None:
            # Eager (embedded mode) computes here; with workers, a later request finds it.
            tasks.compute_requested(survey_id=survey.pk, outcome=outcome, filters=filters)
            row = drivers.analysis_cached(survey_id=survey.pk, outcome=outcome, filters=filters)
        if row is None:
            return Response(
                {
                    "outcome": outcome,
                    "n": 0,
                    "results": [],
                    "reason": "computing",
                    "detail": _("The analysis is being computed; ask again in a minute."),
                },
                status=status.HTTP_202_ACCEPTED,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        return Response(drivers.analysis_payload(row))


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
