"""API v1 views: thin callers of the domain services and of this layer's selectors.

Anything outside a key's audiences answers exactly as if it did not exist (404 for objects
named in the URL; "unknown …" for objects named in a body), so a key cannot even detect it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audiences.models import AuditAction, Membership, Person
from audiences.selectors import person_export
from audiences.services import audit_record, person_erase
from metrics import selectors as metrics_selectors
from surveys import selectors as survey_selectors
from surveys.models import InvitationState, Question, Survey
from xmplatform.api import operations, selectors, services
from xmplatform.api import serializers as s
from xmplatform.api.auth import ApiClient, ApiKeyAuthentication
from xmplatform.api.parsers import JSONBodyParser, has_nul
from xmplatform.api.permissions import AllAudiencesKey, HasApiKey
from xmplatform.api.selectors import Scope
from xmplatform.api.throttles import ApiKeyRateThrottle

MESSAGES = {"type": "array", "items": {"type": "string"}}
BAD_REQUEST = {
    "type": "object",
    "description": "A refused request: `detail` for the request as a whole, else the messages "
    "of each field (a list, a message for a query parameter, or messages by key for answers).",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {
        "anyOf": [
            {"type": "string"},
            MESSAGES,
            {"type": "object", "additionalProperties": {"anyOf": [{"type": "string"}, MESSAGES]}},
        ]
    },
}
ERRORS = {
    400: OpenApiResponse(BAD_REQUEST, description="Bad input (the messages say what to fix)."),
    401: OpenApiResponse(s.ErrorSerializer, description="Missing or invalid API key."),
    403: OpenApiResponse(s.ErrorSerializer, description="Read-only key, or not allowed."),
    404: OpenApiResponse(s.ErrorSerializer, description="Not found (or outside the key's scope)."),
    413: OpenApiResponse(
        s.ErrorSerializer, description="The body is too large; send fewer items per request."
    ),
    415: OpenApiResponse(s.ErrorSerializer, description="Send the body as application/json."),
    429: OpenApiResponse(s.ErrorSerializer, description="Too many requests; see Retry-After."),
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self) -> None:
        megabytes = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
        super().__init__(
            _("The body is larger than %(mb)g MB; send fewer items per request.")
            % {"mb": megabytes}
        )


class ApiView(APIView):
    """Bearer-key authentication, read-only enforcement and per-key throttling."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ApiKeyRateThrottle]
    parser_classes = [JSONBodyParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # PostgreSQL text cannot hold NUL: such input can only be a mistake, never a match.
        if any(has_nul(v) for v in kwargs.values()):
            raise Http404
        if any(has_nul(v) for v in request.query_params.values()):
            raise ValidationError({"detail": _("Parameters must not contain NUL characters.")})

    def handle_exception(self, exc: Exception) -> Response:
        # Django raises this (a 400 page in HTML) when request.data reads an oversized body.
        if isinstance(exc, RequestDataTooBig):
            exc = BodyTooLarge()
        return super().handle_exception(exc)

    @property
    def client(self) -> ApiClient:
        client = self.request.user
        assert isinstance(client, ApiClient)  # noqa: S101 - HasApiKey guarantees it
        return client

    @property
    def scope(self) -> Scope:
        return self.client.scope

    @property
    def actor_name(self) -> str:
        """How the audit log names this caller: the key, by name and prefix (never the key)."""
        key = self.client.api_key
        return f"API key {key.name} ({key.prefix})"[:150]


class ApiListView(ApiView, generics.GenericAPIView):
    pass


def _list_body(request: Request) -> list[Any]:
    """The posted JSON list, at most MAX_BATCH items, or a 400 that says what is wrong."""
    data = request.data
    if not isinstance(data, list):
        raise ValidationError({"detail": _("Send a JSON list of items.")})
    if not data:
        raise ValidationError({"detail": _("The list is empty; send at least one item.")})
    if len(data) > s.MAX_BATCH:
        raise ValidationError(
            {
                "detail": _("Send at most %(max)d items per request (this one has %(n)d).")
                % {"max": s.MAX_BATCH, "n": len(data)}
            }
        )
    return data


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": _("Send a JSON object.")})
    return request.data


def _date_param(request: Request, name: str) -> dt.date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        parsed = parse_date(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: _("Use a date as YYYY-MM-DD (got %(v)s).") % {"v": raw}})
    return parsed


UNENCODED_PLUS = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+) (\d\d(?::?\d\d)?)$")


def _since_param(request: Request) -> dt.date | dt.datetime | None:
    raw = request.query_params.get("since")
    if raw in (None, ""):
        return None
    if len(raw) == 10:
        return _date_param(request, "since")
    # An offset sent unencoded (…T09:30:00+03:00) arrives with its "+" decoded as a space.
    raw = UNENCODED_PLUS.sub(r"\1+\2", raw)
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is not None and not timezone.is_naive(moment):
        return moment
    raise ValidationError(
        {
            "since": _("Use a date (YYYY-MM-DD) or an ISO 8601 moment with an offset (got %(v)s).")
            % {"v": raw}
        }
    )


@csrf_exempt  # an API client has no CSRF cookie; nothing is done here either way
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under /api/: a 404 in JSON like the API's own, not an HTML page."""
    detail = _("Not found.")
    if not request.path.endswith("/"):
        detail = _("Not found. API paths end with a slash, e.g. /api/v1/people/.")
    return JsonResponse({"detail": detail}, status=404)


# --- Audiences -----------------------------------------------------------------------------


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
        serializer = s.AudienceSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        owner = get_user_model().objects.filter(username=data.pop("owner")).first()
        if owner is None:
            raise ValidationError({"owner": [_("No user has this username.")]})
        try:
            audience = services.audience_create(owner=owner, **data)
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


# --- People --------------------------------------------------------------------------------


class PeopleView(ApiView):
    @extend_schema(
        request=s.PersonItemSerializer(many=True),
        responses={200: s.PeopleResultSerializer, **errors(400, 401, 403, 413, 415, 429)},
        description="Upsert up to 1,000 people by external_id; valid items are stored even "
        "when others fail.",
    )
    def post(self, request: Request) -> Response:
        items = _list_body(request)
        try:
            result = operations.people_submit(items=items, scope=self.scope)
        except IntegrityError:
            return Response(
                {"detail": _("Some of these people were created at the same time; send again.")},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(s.PeopleResultSerializer(result).data)


def _visible_person(scope: Scope, external_id: str) -> Person:
    person = selectors.people_visible(scope=scope).filter(external_id=external_id).first()
    if person is None:
        raise Http404
    return person


class PersonDetailView(ApiView):
    @extend_schema(responses={200: s.PersonSerializer, **errors(401, 404, 429)})
    def get(self, request: Request, external_id: str) -> Response:
        """A person with the memberships this key may see."""
        person = _visible_person(self.scope, external_id)
        return Response(
            s.PersonSerializer(selectors.person_data(person=person, scope=self.scope)).data
        )

    @extend_schema(
        responses={
            204: OpenApiResponse(description="Erased."),
            409: OpenApiResponse(
                s.ErrorSerializer, description="The person also belongs to other audiences."
            ),
            **errors(401, 403, 404, 429),
        },
        description="Erase the person and their personal data; anonymous aggregates stay.",
    )
    def delete(self, request: Request, external_id: str) -> Response:
        person = _visible_person(self.scope, external_id)
        ids = self.scope.audience_ids
        if (
            ids is not None
            and Membership.objects.filter(person=person).exclude(audience_id__in=ids).exists()
        ):
            return Response(
                {
                    "detail": _(
                        "This person also belongs to audiences outside this key's scope; "
                        "erase them with a key for all audiences."
                    )
                },
                status=status.HTTP_409_CONFLICT,
            )
        audiences = list(
            Membership.objects.filter(person=person).values_list("audience_id", flat=True)
        )
        pk = person.pk
        report = person_erase(person=person)
        audit_record(
            actor=None,
            actor_name=self.actor_name,
            action=AuditAction.PERSON_ERASED,
            audiences=audiences or [None],
            target=f"person {pk}",
            detail={
                "memberships": report.memberships,
                "events": report.events,
                "invitations_unlinked": report.invitations_unlinked,
                "responses_unlinked": report.responses_unlinked,
            },
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PersonExportView(ApiView):
    @extend_schema(responses={200: s.PersonExportSerializer, **errors(401, 404, 429)})
    def get(self, request: Request, external_id: str) -> Response:
        """Everything held about the person (within this key's audiences), as JSON."""
        person = _visible_person(self.scope, external_id)
        data = person_export(person=person)
        if not self.scope.unrestricted:
            data = operations.export_scoped(data=data, person=person, scope=self.scope)
        data = selectors.export_without_answer_times(data=data, person=person)
        memberships = Membership.objects.filter(person=person)
        if self.scope.audience_ids is not None:
            memberships = memberships.filter(audience_id__in=self.scope.audience_ids)
        audit_record(
            actor=None,
            actor_name=self.actor_name,
            action=AuditAction.PERSON_EXPORTED,
            audiences=list(memberships.values_list("audience_id", flat=True)) or [None],
            target=f"person {person.pk}",
        )
        return Response(s.PersonExportSerializer(data).data)


# --- Events --------------------------------------------------------------------------------


class EventsView(ApiView):
    @extend_schema(
        request=s.EventItemSerializer(many=True),
        responses={200: s.EventsResultSerializer, **errors(400, 401, 403, 413, 415, 429)},
        description="Record up to 1,000 touchpoint events; idempotent on idempotency_key. "
        "Events fire the distribution triggers.",
    )
    def post(self, request: Request) -> Response:
        items = _list_body(request)
        return Response(operations.events_submit(items=items, scope=self.scope))


# --- Invitations ---------------------------------------------------------------------------


class Pagination(CursorPagination):
    """Cursor pages (stable under inserts); a damaged cursor is a 400 that says what to do."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request: Request) -> Any:
        try:
            return super().decode_cursor(request)
        except NotFound as exc:
            raise ValidationError(
                {"cursor": _("This cursor is not valid; follow a page's next or previous link.")}
            ) from exc


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
        serializer = s.InvitationRequestSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        body, code = operations.invitation_submit(
            scope=self.scope, actor_name=self.actor_name, **serializer.validated_data
        )
        return Response(body, status=code)


# --- Surveys -------------------------------------------------------------------------------


class SurveyListView(ApiView):
    @extend_schema(responses={200: s.SurveySummarySerializer(many=True), **errors(401, 429)})
    def get(self, request: Request) -> Response:
        """The surveys of this key's audiences, newest first."""
        surveys = selectors.surveys_visible(scope=self.scope).order_by("-created_at", "-id")
        return Response(s.SurveySummarySerializer(surveys, many=True).data)


def _visible_survey(scope: Scope, survey_id: int) -> Survey:
    if not operations.check_id(survey_id):
        raise Http404
    survey = selectors.surveys_visible(scope=scope).filter(pk=survey_id).first()
    if survey is None:
        raise Http404
    return survey


class SurveyDetailView(ApiView):
    @extend_schema(responses={200: s.SurveySerializer, **errors(401, 404, 429)})
    def get(self, request: Request, survey_id: int) -> Response:
        """A survey with its questions: keys, types, scales, logic and texts per language."""
        survey = _visible_survey(self.scope, survey_id)
        questions = Question.objects.filter(survey=survey).order_by("page", "order", "id")
        data = s.SurveySummarySerializer(survey).data
        data.update(
            intro=survey.intro or {},
            thank_you=survey.thank_you or {},
            questions=[operations.question_data(q) for q in questions],
        )
        return Response(data)


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
        survey = _visible_survey(self.scope, survey_id)
        refuse_anonymous(survey)
        since = _since_param(request)
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
        serializer = s.ResponseSubmitSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        body, code = operations.response_post(scope=self.scope, **serializer.validated_data)
        return Response(body, status=code)


# --- Scores --------------------------------------------------------------------------------

SCORE_DIMENSIONS = ("touchpoint", "stage", "journey", "survey", "segment", "channel", "language")
PERIODS = ("day", "week", "month", "quarter")
RATE_METRIC = "response_rate"


class ScoresView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("audience", OpenApiTypes.STR, required=True),
            OpenApiParameter(
                "metric",
                OpenApiTypes.STR,
                required=True,
                enum=[*metrics_selectors.METRIC_QUESTION_TYPE, RATE_METRIC],
            ),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("by", OpenApiTypes.STR, enum=[*SCORE_DIMENSIONS, *PERIODS]),
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
        metrics = [*metrics_selectors.METRIC_QUESTION_TYPE, RATE_METRIC]
        if metric not in metrics:
            raise ValidationError({"metric": _("Use one of: %(v)s.") % {"v": ", ".join(metrics)}})
        allowed = (
            selectors.RATE_DIMENSIONS if metric == RATE_METRIC else (*SCORE_DIMENSIONS, *PERIODS)
        )
        if by is not None and by not in allowed:
            raise ValidationError({"by": _("Use one of: %(v)s.") % {"v": ", ".join(allowed)}})
        date_from, date_to = _date_param(request, "from"), _date_param(request, "to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError({"from": _("from must not be after to.")})
        survey_id = _survey_param(request)
        if survey_id is not None and metric == RATE_METRIC:
            raise ValidationError(
                {"survey": _("The response rate is not filtered by survey; use by=survey.")}
            )
        audience = selectors.audiences_visible(scope=self.scope).filter(slug=slug).first()
        if audience is None:
            raise Http404
        if metric == RATE_METRIC:
            rows = selectors.response_rate_rows(
                audience=audience, by=by, date_from=date_from, date_to=date_to
            )
            as_of, date_from_shown, date_to_shown = timezone.now(), date_from, date_to
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
                "results": operations.score_groups(rows, by=by),
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
    if not operations.check_id(value):
        raise ValidationError({"survey": _("Give a survey by its id (got %(v)s).") % {"v": raw}})
    return value
