"""API v1 EX ↔ CX: each unit's employee eNPS beside its customers' NPS and CSAT."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from audiences.models import Audience, AudienceKind
from metrics.selectors.units import UnitRow, ex_cx, unit_keys
from xmplatform.api import selectors
from xmplatform.api.views.base import ApiView, date_param, errors

SCORE = {
    "type": "object",
    "description": "A unit's side: its score, n and 95 % margin, or `suppressed` alone.",
}
EX_CX_SCHEMA = {
    "type": "object",
    "properties": {
        "unit": {"type": "string"},
        "as_of": {"type": "string", "format": "date-time"},
        "from": {"type": "string", "format": "date", "nullable": True},
        "to": {"type": "string", "format": "date", "nullable": True},
        "employees_from": {"type": "string", "format": "date", "nullable": True},
        "employees_to": {"type": "string", "format": "date", "nullable": True},
        "units": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "unit": {"type": "string"},
                    "employees": SCORE,
                    "customers": SCORE,
                },
            },
        },
        "correlation": {
            "type": "object",
            "nullable": True,
            "properties": {
                "r": {"type": "number"},
                "low": {"type": "number"},
                "high": {"type": "number"},
                "units": {"type": "integer"},
            },
        },
        "reason": {"type": "string", "nullable": True},
    },
}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def unit_result(row: UnitRow) -> dict[str, Any]:
    """One unit as the API shows it: a withheld employee side carries no score and no n."""
    employees: dict[str, Any] = {"suppressed": True}
    if not row.employees_suppressed:
        employees = {
            "enps": _round(row.employees.value),
            "n": row.employees.n,
            "margin": _round(row.employees.margin),
        }
    return {
        "unit": row.unit,
        "employees": employees,
        "customers": {
            "nps": _round(row.nps.value),
            "n": row.nps.n,
            "margin": _round(row.nps.margin),
            "csat": _round(row.csat.value),
            "csat_n": row.csat.n,
            "csat_margin": _round(row.csat.margin),
        },
    }


class ExCxView(ApiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("employees", OpenApiTypes.STR, required=True),
            OpenApiParameter("customers", OpenApiTypes.STR, required=True),
            OpenApiParameter(
                "unit",
                OpenApiTypes.STR,
                description="A membership attribute both audiences carry (e.g. store), or "
                "`segment`; by default the first attribute they share.",
            ),
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
        ],
        responses={
            200: OpenApiResponse(EX_CX_SCHEMA, description="Units and their correlation."),
            **errors(400, 401, 404, 429),
        },
        description="Each unit's employee eNPS beside its customers' NPS and CSAT (top-2-box), "
        "with n and 95 % margins, and the Pearson r of unit eNPS against unit NPS (each unit "
        "counted once, unweighted) with its 95 % Fisher interval over the units where both are "
        "shown (null below 4 units; `reason` says why). Customers are exact. Employees follow "
        "the anonymity rules: anonymous surveys count whole published periods and split by "
        "the segment only (an anonymous answer keeps no membership attribute), a unit with "
        "fewer answers than the threshold, or whose absence would reveal one, is "
        '`{"suppressed": true}` and left out of the correlation.',
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        employees = self._audience(params.get("employees") or "", "employees")
        customers = self._audience(params.get("customers") or "", "customers")
        date_from, date_to = date_param(request, "from"), date_param(request, "to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError({"from": _("from must not be after to.")})
        if employees.kind != AudienceKind.EMPLOYEE:
            raise ValidationError({"employees": _("Name an employee audience.")})
        if customers.kind == AudienceKind.EMPLOYEE:
            raise ValidationError({"customers": _("Name an audience that is not of employees.")})
        keys = unit_keys(employees=employees, customers=customers)
        unit = params.get("unit") or keys[0]
        if unit not in keys:
            raise ValidationError(
                {
                    "unit": _("Use one of the units both audiences share: %(v)s.")
                    % {"v": ", ".join(keys)}
                }
            )
        result = ex_cx(
            employees=employees,
            customers=customers,
            unit=unit,
            date_from=date_from,
            date_to=date_to,
        )
        correlation = None
        if result.correlation is not None:
            c = result.correlation
            correlation = {
                "r": round(c.r, 4),
                "low": round(c.low, 4),
                "high": round(c.high, 4),
                "units": c.units,
            }
        return Response(
            {
                "unit": unit,
                "as_of": result.as_of.isoformat(),
                "from": result.date_from.isoformat() if result.date_from else None,
                "to": result.date_to.isoformat() if result.date_to else None,
                "employees_from": _iso(result.employees_from),
                "employees_to": _iso(result.employees_to),
                "units": [unit_result(row) for row in result.rows],
                "correlation": correlation,
                "reason": result.reason,
            }
        )

    def _audience(self, slug: str, field: str) -> Audience:
        """The audience by slug within the key's scope (404 outside it, 400 when unnamed)."""
        if not slug:
            raise ValidationError({field: _("Name an audience by its slug.")})
        audience = selectors.audiences_visible(scope=self.scope).filter(slug=slug).first()
        if audience is None:
            raise Http404
        return audience
