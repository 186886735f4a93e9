"""The metrics dashboard inside the admin: thin views over metrics.dashboard."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audiences.access import audience_ids, has_role
from audiences.models import AuditAction, Role
from audiences.services import audit_record
from metrics.access import check_view_permission, viewable_audience
from metrics.dashboard import CARD_METRICS, CHARTS, METRICS, Window, audience_page, index_cards
from metrics.dashboard.export import cards_csv, chart_csv

PERIOD_CHOICES = [
    ("30", _("Last 30 days")),
    ("90", _("Last 90 days")),
    ("365", _("Last 12 months")),
    ("all", _("All time")),
]


class DashboardFilterForm(forms.Form):
    """Period (or from/to), segment and survey filters; bad values fall back to the defaults."""

    period = forms.ChoiceField(label=_("Period"), choices=PERIOD_CHOICES, required=False)
    segment = forms.CharField(label=_("Segment"), max_length=100, required=False)
    survey = forms.IntegerField(label=_("Survey"), min_value=1, required=False)
    touchpoint = forms.IntegerField(label=_("Touchpoint"), min_value=1, required=False)
    metric = forms.ChoiceField(
        label=_("Metric"), choices=[(k, m.label) for k, m in METRICS.items()], required=False
    )

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

    def window(self, today: dt.date) -> Window:
        start, end = self.cleaned_data.get("from"), self.cleaned_data.get("to")
        if start or end:
            end = end or today
            if start is None:
                return Window(date_from=None, date_to=end, days=None)
            return Window(date_from=start, date_to=end, days=(end - start).days + 1)
        period = self.cleaned_data.get("period") or "90"
        if period == "all":
            return Window(date_from=None, date_to=today, days=None)
        days = int(period)
        return Window(date_from=today - dt.timedelta(days=days - 1), date_to=today, days=days)


def _csv(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def index(request: HttpRequest) -> HttpResponse:
    """One card per audience, for the metric picked (`?metric=`, else each one's headline);
    `?format=csv` gives the cards' figures."""
    check_view_permission(request)
    today = timezone.now().date()
    metric = request.GET.get("metric") or None
    if metric not in (None, *CARD_METRICS, "enps"):
        metric = None
    cards = index_cards(
        today=today, audience_ids=audience_ids(request.user, Role.VIEWER), metric=metric
    )
    if request.GET.get("format") == "csv":
        return _csv(cards_csv(cards), f"experience-{metric or 'headline'}")
    context = {
        **admin.site.each_context(request),
        "title": _("Experience dashboard"),
        "cards": cards,
        "metric": metric,
        "metric_choices": [(m, METRICS[m].label) for m in CARD_METRICS],
    }
    return render(request, "admin/metrics/index.html", context)


def audience_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One audience: trend, distribution, journey heatmap, worst touchpoints, verbatims, RoX."""
    audience = viewable_audience(request, slug)
    form = DashboardFilterForm(request.GET or None)
    errors = None
    if form.is_bound and not form.is_valid():
        errors = form.errors
        form = DashboardFilterForm()
    cleaned = form.cleaned_data if form.is_bound else {}
    if not form.is_bound:
        form.cleaned_data = {}
    today = timezone.now().date()
    window = form.window(today)
    chart = request.GET.get("chart") if request.GET.get("format") == "csv" else None
    if chart is not None and chart not in CHARTS:
        return HttpResponseBadRequest(_("Unknown chart."))
    page = audience_page(
        audience=audience,
        window=window,
        segment=cleaned.get("segment") or None,
        survey_id=cleaned.get("survey"),
        touchpoint_id=cleaned.get("touchpoint"),
        metric=cleaned.get("metric") or None,
        # A chart's CSV carries figures only, never what people wrote.
        with_text=chart is None,
    )
    if chart is not None:
        name = f"{audience.slug}-{chart}-{page.get('metric') or 'none'}"
        return _csv(chart_csv(page, chart), name)
    if page.get("metric_reset"):
        errors = errors or {"metric": [_("This audience has no figures for that metric.")]}
    if page.get("touchpoint_reset"):
        errors = errors or {
            "touchpoint": [_("That touchpoint is not on this audience's journeys.")]
        }
    if not has_role(request.user, audience.pk, Role.ANALYST):
        # Viewers see scores only, never what people wrote.
        page["verbatims"] = page["anonymous_verbatims"] = []
    elif page.get("verbatims") or page.get("anonymous_verbatims"):
        audit_record(
            actor=request.user,
            action=AuditAction.RESPONSES_VIEWED,
            audiences=[audience.pk],
            target="dashboard verbatims",
            detail={"query": request.GET.urlencode()[:500]},
        )
    context = {
        **admin.site.each_context(request),
        "title": _("%(audience)s: experience") % {"audience": audience},
        "audience": audience,
        "form": form,
        "filter_errors": errors,
        "window": window,
        "selected": {
            "period": cleaned.get("period") or "90",
            "from": cleaned.get("from"),
            "to": cleaned.get("to"),
            "segment": cleaned.get("segment") or "",
            "survey": cleaned.get("survey"),
            "touchpoint": page.get("touchpoint"),
            "metric": page.get("metric"),
        },
        "csv_query": _csv_query(request),
        "period_choices": PERIOD_CHOICES,
        **page,
    }
    return render(request, "admin/metrics/audience.html", context)


def _csv_query(request: HttpRequest) -> str:
    """The page's query without format and chart, to which a chart's CSV link adds its own."""
    query = request.GET.copy()
    for key in ("format", "chart"):
        query.pop(key, None)
    return query.urlencode()
