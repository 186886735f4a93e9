"""The key-drivers page inside the admin: a thin view over metrics.drivers.selectors.

Viewers of an audience see it (figures only, nothing people wrote). It reads the cached
analysis; the first visit of a (survey, outcome, filters) enqueues its computation (run at once
in the embedded mode), and the beat keeps it within minutes of new responses.
"""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience
from metrics.access import viewable_audience
from metrics.drivers import selectors, tasks
from metrics.drivers.chart import matrix_chart
from metrics.drivers.matrix import OUTCOME_TYPES, DriverFilters
from surveys.models import Question, ReportingPeriod, Response, Survey

# Cells a spreadsheet would run as a formula (CWE-1236) get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_SEGMENTS = 100


class DriversFilterForm(forms.Form):
    """Survey, outcome, from/to and segment; bad values reset to the defaults."""

    survey = forms.IntegerField(label=_("Survey"), min_value=1, required=False)
    outcome = forms.SlugField(label=_("Outcome"), max_length=64, required=False)
    segment = forms.CharField(label=_("Segment"), max_length=100, required=False)
    field = forms.CharField(label=_("Hidden field"), max_length=141, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "from" and "to" are Python keywords: declared here, as the API names them.
        self.fields["from"] = forms.DateField(label=_("From"), required=False)
        self.fields["to"] = forms.DateField(label=_("To"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise forms.ValidationError(_("from must not be after to."))
        return cleaned


def _segments(survey: Survey) -> list[str]:
    """The segments of a survey's counted responses (anonymous: published periods only)."""
    rows = Response.objects.filter(survey=survey, released=True, completed_on__isnull=False)
    if survey.anonymous:
        published = ReportingPeriod.objects.filter(
            survey=survey, published_at__isnull=False
        ).values("starts_on")
        rows = rows.filter(completed_on__in=published)
    return list(
        rows.exclude(segment="")
        .values_list("segment", flat=True)
        .distinct()
        .order_by("segment")[:MAX_SEGMENTS]
    )


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(payload: dict[str, Any], audience: Audience, survey: Survey) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{audience.slug}-drivers-{survey.pk}-{payload['outcome']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(
        ["rank", "driver", "label", "importance", "low", "high", "performance", "correlation"]
    )
    for rank, r in enumerate(payload.get("results", []), start=1):
        writer.writerow(
            [
                rank,
                _safe(r["driver"]),
                _safe(r["label"]),
                r["importance"],
                r["low"],
                r["high"],
                r["performance"],
                r.get("correlation", ""),
            ]
        )
    return response


def drivers_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One audience's key drivers: per survey and outcome question, ranked and as a matrix."""
    audience = viewable_audience(request, slug)
    surveys = list(
        Survey.objects.filter(audience=audience)
        .filter(Exists(Question.objects.filter(survey=OuterRef("pk"), type__in=OUTCOME_TYPES)))
        .order_by("name", "pk")
    )
    form = DriversFilterForm(request.GET or None)
    filter_errors = None
    if form.is_bound and not form.is_valid():
        filter_errors = form.errors
        form = DriversFilterForm()
    cleaned: dict[str, Any] = form.cleaned_data if form.is_bound else {}
    survey = next((s for s in surveys if s.pk == cleaned.get("survey")), None)
    survey = survey or (surveys[0] if surveys else None)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _("%(audience)s: key drivers") % {"audience": audience},
        "audience": audience,
        "surveys": surveys,
        "filter_errors": filter_errors,
        "survey": survey,
    }
    if survey is None:
        return render(request, "admin/metrics/drivers.html", context)
    outcomes = selectors.outcome_questions(survey_id=survey.pk)
    outcome = next((q for q in outcomes if q.key == cleaned.get("outcome")), outcomes[0])
    hidden_field = cleaned.get("field") or ""
    if hidden_field.split(":", 1)[0] not in (survey.hidden_fields or []) or ":" not in hidden_field:
        hidden_field = ""  # not one of the survey's hidden fields: the default view
    filters = DriverFilters(
        date_from=cleaned.get("from"),
        date_to=cleaned.get("to"),
        segment=cleaned.get("segment") or None,
        hidden_field=hidden_field or None,
    )
    row = selectors.analysis_cached(survey_id=survey.pk, outcome=outcome.key, filters=filters)
    if row is None:
        tasks.compute_requested(survey_id=survey.pk, outcome=outcome.key, filters=filters)
        row = selectors.analysis_cached(survey_id=survey.pk, outcome=outcome.key, filters=filters)
    payload = selectors.analysis_payload(row) if row is not None else None
    if payload is not None and request.GET.get("format") == "csv":
        return _csv(payload, audience, survey)
    results = payload["results"] if payload else []
    query = {
        "survey": survey.pk,
        "outcome": outcome.key,
        **{k: v for k, v in filters.canonical().items() if v},
    }
    context |= {
        "outcomes": [
            {"key": q.key, "label": selectors.localised(q.label or {}, q.key), "type": q.type}
            for q in outcomes
        ],
        "outcome": outcome,
        "outcome_label": selectors.localised(outcome.label or {}, outcome.key),
        "segments": _segments(survey),
        "selected": {
            "from": cleaned.get("from"),
            "to": cleaned.get("to"),
            "segment": cleaned.get("segment") or "",
            "field": hidden_field,
        },
        "payload": payload,
        "computed_at": parse_datetime(payload["as_of"]) if payload else None,
        "results": results,
        "chart": matrix_chart(results),
        "r2_percent": payload["r2"] * 100 if payload and payload.get("r2") is not None else None,
        "csv_query": urlencode(query),
        "k": audience.anonymity_threshold,
    }
    return render(request, "admin/metrics/drivers.html", context)
