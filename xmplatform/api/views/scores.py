"""API v1 scores: an audience's scores, or its response rate, by group."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.models import AudienceKind
from metrics import selectors as metrics_selectors
from metrics.selectors import series
from metrics.selectors.slices import FIELD_NAME, FIELD_PREFIX
from xmplatform.api import selectors
from xmplatform.api import serializers as s
from xmplatform.api.operations.common import check_id
from xmplatform.api.operations.shapes import score_groups
from xmplatform.api.views.base import (
    ApiView,
    date_param,
    errors,
)

# --- Scores --------------------------------------------------------------------------------

SCORE_DIMENSIONS = ("touchpoint", "stage", "journey", "survey", "segment", "channel", "language")
PERIODS = ("day", "week", "month", "quarter")
RATE_METRIC = "response_rate"
OPERATION_METRICS = tuple(series.OPERATION_METRICS)
# Operational metrics per day count the members at each day's start: a bounded number of days.
MAX_OPERATION_DAYS = 92
METRICS = (*metrics_selectors.METRIC_QUESTION_TYPE, RATE_METRIC, *OPERATION_METRICS)


class ScoresView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("audience", OpenApiTypes.STR, required=True),
            OpenApiParameter(
                "metric",
                OpenApiTypes.STR,
                required=True,
                enum=list(METRICS),
            ),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter(
                "by",
                OpenApiTypes.STR,
                description="A dimension, a period, or field:<name> for a survey's hidden "
                "field (anonymous surveys: groups under the anonymity threshold, or that "
                "would reveal one by subtraction, are suppressed).",
            ),
            OpenApiParameter(
                "survey", OpenApiTypes.INT, description="Only this survey of the audience."
            ),
        ],
        responses={200: s.ScoresSerializer, **errors(400, 401, 404, 429)},
        description="Scores with n and margin of error, as of the moment in `as_of`. Named "
        "surveys' scores are exact and count every completed response (within a minute). "
        "Anonymous surveys count per whole reporting period (a window holds the periods that "
        "start in it, and `from`/`to` say the days the figures cover), shown only once the "
        "period has ended (published) and holds at least the audience's anonymity threshold: "
        "nothing of an open period; their segment, channel and language slices with small "
        "groups and groups that would reveal one by subtraction suppressed (no score and no n).",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        slug = params.get("audience") or ""
        metric = params.get("metric") or ""
        by = params.get("by") or None
        if not slug:
            raise ValidationError({"audience": _("Name an audience by its slug.")})
        if metric not in METRICS:
            raise ValidationError({"metric": _("Use one of: %(v)s.") % {"v": ", ".join(METRICS)}})
        allowed: tuple[str, ...] = (*SCORE_DIMENSIONS, *PERIODS)
        if metric == RATE_METRIC:
            allowed = tuple(selectors.RATE_DIMENSIONS)
        elif metric in OPERATION_METRICS:
            allowed = PERIODS
        fields_allowed = metric != RATE_METRIC and metric not in OPERATION_METRICS
        by_field = fields_allowed and by is not None and by.startswith(FIELD_PREFIX)
        if by_field and not FIELD_NAME.fullmatch(str(by)[len(FIELD_PREFIX) :]):
            raise ValidationError({"by": _("Name a hidden field after field:, e.g. field:store.")})
        if by is not None and by not in allowed and not by_field:
            raise ValidationError(
                {
                    "by": _("Use one of: %(v)s.")
                    % {"v": ", ".join(allowed + (("field:<name>",) if fields_allowed else ()))}
                }
            )
        date_from, date_to = date_param(request, "from"), date_param(request, "to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError({"from": _("from must not be after to.")})
        survey_id = _survey_param(request)
        if survey_id is not None and metric == RATE_METRIC:
            raise ValidationError(
                {"survey": _("The response rate is not filtered by survey; use by=survey.")}
            )
        if survey_id is not None and metric in OPERATION_METRICS:
            raise ValidationError(
                {"survey": _("Operational metrics come from events, not from a survey.")}
            )
        audience = selectors.audiences_visible(scope=self.scope).filter(slug=slug).first()
        if audience is None:
            raise Http404
        if metric in OPERATION_METRICS and audience.kind != AudienceKind.CUSTOMER:
            raise ValidationError(
                {"metric": _("Operational metrics are measured for customer audiences.")}
            )
        if metric == RATE_METRIC:
            rows = selectors.response_rate_rows(
                audience=audience, by=by, date_from=date_from, date_to=date_to
            )
            as_of, date_from_shown, date_to_shown = timezone.now(), date_from, date_to
        elif metric in OPERATION_METRICS:
            as_of = timezone.now()
            date_to_shown = date_to or timezone.localdate()
            date_from_shown = date_from or series.first_event_day(audience) or date_to_shown
            if by == "day" and (date_to_shown - date_from_shown).days >= MAX_OPERATION_DAYS:
                raise ValidationError(
                    {
                        "by": _("Per day, give a window of at most %(d)d days.")
                        % {"d": MAX_OPERATION_DAYS}
                    }
                )
            rows = []
            if date_from_shown <= date_to_shown:
                rows = series.operation_rows(
                    audience=audience,
                    metric=metric,
                    by=by,
                    date_from=date_from_shown,
                    date_to=date_to_shown,
                )
        else:
            report = metrics_selectors.scores(
                audience=audience,
                metric=metric,
                by=by,
                date_from=date_from,
                date_to=date_to,
                survey_id=survey_id,
            )
            rows, as_of = report.rows, report.as_of
            date_from_shown, date_to_shown = report.date_from, report.date_to
        # Plain dicts: a suppressed group must carry no score and no n, not nulls.
        return Response(
            {
                "audience": audience.slug,
                "metric": metric,
                "by": by,
                "survey": survey_id,
                "from": date_from_shown.isoformat() if date_from_shown else None,
                "to": date_to_shown.isoformat() if date_to_shown else None,
                "as_of": as_of.isoformat(),
                "results": score_groups(rows, by=by),
            }
        )


def _survey_param(request: Request) -> int | None:
    """The `survey` filter of the scores: a survey id, or None."""
    raw = request.query_params.get("survey")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not check_id(value):
        raise ValidationError({"survey": _("Give a survey by its id (got %(v)s).") % {"v": raw}})
    return value
