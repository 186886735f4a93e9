"""The topics page inside the admin: thin view over metrics.comments.selectors.

Viewers see the figures (topics, shares, sentiment, scores, trends, the sentiment models);
what people wrote (search results) needs the analyst role, and showing it is audited, as on
the dashboard.
"""

import csv
import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from audiences.access import has_role
from audiences.models import Audience, AuditAction, Role
from audiences.services import audit_record
from metrics.access import viewable_audience
from metrics.comments import selectors
from surveys.models import Question, QuestionType, Survey

LANGUAGE_CHOICES = [("", _("All languages")), ("tr", _("Turkish")), ("en", _("English"))]
SPARK_W, SPARK_H = 80, 20
# Cells a spreadsheet would run as a formula (CWE-1236) get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TopicsFilterForm(forms.Form):
    """Survey, question, language, from/to and the search words; bad values reset to defaults."""

    survey = forms.IntegerField(label=_("Survey"), min_value=1, required=False)
    question = forms.SlugField(label=_("Question"), max_length=64, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, required=False)
    q = forms.CharField(label=_("Search comments"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(label=_("From"), required=False)
        self.fields["to"] = forms.DateField(label=_("To"), required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise forms.ValidationError(_("from must not be after to."))
        return cleaned


def _sparkline(trend: list[dict[str, Any]]) -> str:
    """SVG polyline points of a topic's shares over time (empty with fewer than two points)."""
    if len(trend) < 2:
        return ""
    top = max(p["share"] for p in trend) or 1.0
    step = SPARK_W / (len(trend) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_H - 1 - (p['share'] / top) * (SPARK_H - 2):.1f}"
        for i, p in enumerate(trend)
    )


BAR_ROW, BAR_X, BAR_W = 12, 104, 80


def _bars(rows: list[selectors.TopicRow]) -> list[dict[str, Any]]:
    """The share chart's rows: y, the bar's width and the value's x (hidden topics: none)."""
    bars = []
    for i, row in enumerate(rows):
        width = (row.share or 0.0) * BAR_W if row.shown else 0.0
        bars.append(
            {
                "row": row,
                "y": i * BAR_ROW,
                "text_y": i * BAR_ROW + 8,
                "width": f"{width:.1f}",
                "value_x": f"{BAR_X + width + 3:.1f}",
                "percent": round((row.share or 0.0) * 100),
            }
        )
    return bars


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(report: selectors.TopicReport, audience: Audience) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"{audience.slug}-topics-{report.survey.pk}-{report.question.key}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(
        ["topic", "label", "terms", "n", "share", "sentiment", "score", "nps_effect", "shown"]
    )
    for row in report.rows:
        writer.writerow(
            [
                row.topic,
                _safe(row.label),
                _safe(" ".join(row.terms)),
                row.n if row.shown else "",
                row.share if row.shown else "",
                row.sentiment if row.shown else "",
                row.score if row.shown and row.score is not None else "",
                row.nps_effect if row.shown and row.nps_effect is not None else "",
                int(row.shown),
            ]
        )
    return response


def topics_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One audience's topics: per survey and free-text question, with search for analysts."""
    audience = viewable_audience(request, slug)
    surveys = list(
        Survey.objects.filter(audience=audience)
        .filter(Exists(Question.objects.filter(survey=OuterRef("pk"), type=QuestionType.TEXT)))
        .order_by("name", "pk")
    )
    form = TopicsFilterForm(request.GET or None)
    filter_errors = None
    if form.is_bound and not form.is_valid():
        filter_errors = form.errors
        form = TopicsFilterForm()
    cleaned: dict[str, Any] = form.cleaned_data if form.is_bound else {}
    survey = next((s for s in surveys if s.pk == cleaned.get("survey")), None)
    survey = survey or (surveys[0] if surveys else None)
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": _("%(audience)s: what people say") % {"audience": audience},
        "audience": audience,
        "surveys": surveys,
        "filter_errors": filter_errors,
        "language_choices": LANGUAGE_CHOICES,
        "models": selectors.sentiment_models(),
        "analyst": has_role(request.user, audience.pk, Role.ANALYST),
    }
    if survey is not None:
        survey.audience = audience
        questions = selectors.text_questions(survey)
        question = next((q for q in questions if q.key == cleaned.get("question")), None)
        question = question or questions[0]
        window: dict[str, dt.date | None] = {
            "date_from": cleaned.get("from"),
            "date_to": cleaned.get("to"),
        }
        language = cleaned.get("language") or None
        report = selectors.topic_report(
            survey=survey,
            question=question,
            language=language,
            date_from=window["date_from"],
            date_to=window["date_to"],
        )
        if request.GET.get("format") == "csv":
            return _csv(report, audience)
        query = (cleaned.get("q") or "").strip()
        found = None
        if query and context["analyst"]:
            found = selectors.comments_found(
                report=report,
                query=query,
                language=language,
                date_from=window["date_from"],
                date_to=window["date_to"],
            )
            if found.rows:
                audit_record(
                    actor=request.user,
                    action=AuditAction.RESPONSES_VIEWED,
                    audiences=[audience.pk],
                    target="topics search",
                    detail={"query": request.GET.urlencode()[:500]},
                )
        context |= {
            "survey": survey,
            "questions": questions,
            "question": question,
            "report": report,
            "rows": [{"row": r, "spark": _sparkline(r.trend)} for r in report.rows],
            "bars": _bars(report.rows),
            "bars_height": BAR_ROW * len(report.rows),
            "found": found,
            "query": query,
            "selected": {
                "language": language or "",
                "from": cleaned.get("from"),
                "to": cleaned.get("to"),
            },
            "csv_query": _query(survey, question, language, window),
        }
    return render(request, "admin/metrics/topics.html", context)


def _query(
    survey: Survey, question: Question, language: str | None, window: dict[str, dt.date | None]
) -> str:
    from urllib.parse import urlencode

    params = {"survey": survey.pk, "question": question.key}
    if language:
        params["language"] = language
    for key, name in (("date_from", "from"), ("date_to", "to")):
        if window[key] is not None:
            params[name] = window[key].isoformat()  # type: ignore[union-attr]
    return urlencode(params)
