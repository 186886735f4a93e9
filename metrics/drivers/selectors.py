"""Reads of key-driver analysis: the cached analyses (never computed here), the outcome
questions a survey offers, and what the beat must recompute. Reads never write."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from metrics.drivers import services
from metrics.drivers.matrix import OUTCOME_TYPES, DriverFilters
from metrics.drivers.models import DriverAnalysis
from surveys.models import Question, ReportingPeriod, Response


def outcome_questions(*, survey_id: int) -> list[Question]:
    """The questions of a survey an analysis can explain (NPS, CSAT, rating), in survey order."""
    return list(
        Question.objects.filter(survey_id=survey_id, type__in=OUTCOME_TYPES).order_by("order", "id")
    )


def localised(labels: dict[str, str], fallback: str) -> str:
    """A label in the current language, else English, else any, else `fallback`."""
    if not labels:
        return fallback
    language = (get_language() or "en").split("-")[0]
    return labels.get(language) or labels.get("en") or next(iter(labels.values())) or fallback


def reason_text(code: str, params: dict[str, Any]) -> str:
    """The translated sentence for a reason code (services.TOO_FEW …)."""
    if code == services.TOO_FEW:
        return _("Too few responses for a driver analysis: %(n)d, at least %(min)d are needed.") % {
            "n": params.get("n", 0),
            "min": params.get("min", 0),
        }
    if code == services.NO_DRIVERS:
        return _(
            "No driver can be weighed: each needs answers from at least half of the responses "
            "and must vary between them."
        )
    if code == services.NO_VARIATION:
        return _("Every response gave the same outcome score: there is nothing to explain.")
    if code == services.NO_PUBLISHED_PERIOD:
        return _(
            "This survey is anonymous: only ended reporting periods with at least %(k)d "
            "responses are analysed, and none starts in this window."
        ) % {"k": params.get("k", 0)}
    if code == services.SEGMENT_HIDDEN:
        return _(
            "This survey is anonymous and this segment is too small to show on its own, or "
            "showing it would reveal a smaller group."
        )
    return _("Not enough data for a driver analysis.")


def analysis_payload(row: DriverAnalysis) -> dict[str, Any]:
    """The API's and the page's shape of a cached analysis, labels in the current language."""
    if row.reason or not row.results:
        return {
            "outcome": row.outcome,
            "n": row.n,
            "results": [],
            "reason": reason_text(row.reason, row.reason_params),
            "reason_code": row.reason or "no_drivers",
            "as_of": row.computed_at.isoformat(),
        }
    return {
        "outcome": row.outcome,
        "n": row.n,
        "r2": row.r2,
        "as_of": row.computed_at.isoformat(),
        "results": [
            {
                "driver": r["driver"],
                "label": localised(r.get("labels") or {}, r["driver"]),
                "importance": r["importance"],
                "low": r["low"],
                "high": r["high"],
                "performance": r["performance"],
                "correlation": r.get("correlation"),
                "kind": r.get("kind"),
            }
            for r in row.results
        ],
    }


def analysis_cached(
    *, survey_id: int, outcome: str, filters: DriverFilters
) -> DriverAnalysis | None:
    """The cached analysis of (survey, outcome, filters), or None: one query."""
    return DriverAnalysis.objects.filter(
        survey_id=survey_id, outcome=outcome, filters_key=filters.key
    ).first()


def top_drivers(survey_id: int, outcome: str, limit: int = 3) -> list[dict[str, Any]]:
    """The most important drivers of an outcome over all of a survey's responses, from the
    cache only (empty when nothing is cached or there was too little data): for reports."""
    row = analysis_cached(survey_id=survey_id, outcome=outcome, filters=DriverFilters())
    if row is None or row.reason:
        return []
    return analysis_payload(row)["results"][:limit]


def analyses_stale() -> QuerySet[DriverAnalysis]:
    """Cached analyses whose survey has news since they were computed: a named response
    completed later, or an anonymous reporting period published later."""
    newer_response = Response.objects.filter(
        survey_id=OuterRef("survey_id"),
        survey__anonymous=False,
        # The day first, so the (survey, completed_on) index reads only the latest days.
        completed_on__gte=OuterRef("computed_on"),
        completed_at__gt=OuterRef("computed_at"),
        released=True,
    )
    newer_period = ReportingPeriod.objects.filter(
        survey_id=OuterRef("survey_id"), published_at__gt=OuterRef("computed_at")
    )
    return (
        DriverAnalysis.objects.annotate(computed_on=TruncDate("computed_at"))
        .filter(Q(Exists(newer_response)) | Q(Exists(newer_period)))
        .order_by("pk")
    )


def analyses_missing(*, limit: int) -> list[tuple[int, str]]:
    """(survey id, outcome key) of the outcome questions of surveys with counted responses
    that have no all-time analysis yet (what the weekly report's `top_drivers` reads), at most
    `limit`, oldest questions first."""
    counted = Response.objects.filter(
        survey_id=OuterRef("survey_id"), released=True, completed_on__isnull=False
    )
    cached = DriverAnalysis.objects.filter(
        survey_id=OuterRef("survey_id"), outcome=OuterRef("key"), filters_key=DriverFilters().key
    )
    return list(
        Question.objects.filter(type__in=OUTCOME_TYPES)
        .filter(Exists(counted))
        .exclude(Exists(cached))
        .order_by("pk")
        .values_list("survey_id", "key")[:limit]
    )
