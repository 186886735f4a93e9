"""What every API view shares: key authentication, read-only enforcement, throttling, the
error responses of the schema, body and query parameter parsing, and cursor paging.

Anything outside a key's audiences answers exactly as if it did not exist (404 for objects
named in the URL; "unknown …" for objects named in a body), so a key cannot even detect it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from xmplatform.api import serializers as s
from xmplatform.api.auth import ApiClient, ApiKeyAuthentication
from xmplatform.api.parsers import JSONBodyParser, has_nul
from xmplatform.api.permissions import HasApiKey
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


def list_body(request: Request) -> list[Any]:
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


def json_object(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"detail": _("Send a JSON object.")})
    return request.data


def date_param(request: Request, name: str) -> dt.date | None:
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


def since_param(request: Request) -> dt.date | dt.datetime | None:
    raw = request.query_params.get("since")
    if raw in (None, ""):
        return None
    if len(raw) == 10:
        return date_param(request, "since")
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
