"""The weekly report's data, per audience: reads only, the same guarded reads as the dashboard.

- Named surveys: the audience's headline metrics (NPS or eNPS, CSAT) over last week (Monday to
  Sunday before the report's week) against the week before, exact, each with n and margin; a
  change is flagged only beyond the two weeks' combined margin (`change_is_significant`).
- Anonymous surveys: never a week. Their last two *published* reporting periods, whole, through
  `metrics.selectors.read` (metrics.privacy): a period under k answers is withheld, an open
  period is never read at all, and no segment or other slice is offered.
- Top drivers (`metrics.drivers.selectors.top_drivers`, cached results only) and top topics
  (`metrics.comments.selectors.top_topics`) per survey: labels and figures, never a comment.
- Overdue cases: open cases past their due time; their count for everyone who sees the
  audience, the oldest few titles (with links) only for those who may open cases (ANALYST).

`audience_reports` reads every audience of a run once; `report_for` picks one user's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone, translation

from audiences.access import audience_roles
from audiences.models import Audience, AudienceKind, Role
from metrics import definitions as d
from metrics import selectors as s
from metrics.closedloop.models import OPEN_STATUSES, Case
from metrics.closedloop.titles import lazy_message_text
from metrics.comments.selectors import top_topics
from metrics.drivers.selectors import top_drivers
from surveys.models import Question, QuestionType

# The metrics of a report, per question type (NPS reads as eNPS for employee audiences).
REPORT_TYPES = (QuestionType.NPS, QuestionType.CSAT)
# An anonymous survey whose last published period ended longer ago than this is left out.
RECENT_PERIOD_DAYS = 92
OLDEST_CASES = 3
TOP_DRIVERS = 3
TOP_TOPICS = 3


def week_of(now: dt.datetime) -> dt.date:
    """The Monday of the week holding `now` in the site's time zone: the report's week."""
    today = timezone.localdate(now)
    return today - dt.timedelta(days=today.weekday())


def absolute_url(path: str) -> str:
    """A path of this site as a link an e-mail can carry (SITE_URL, as the alert e-mails)."""
    return settings.SITE_URL + path


@dataclass(frozen=True)
class Headline:
    """One metric's figure against the one before it, with n and margin on both sides.

    `survey` is None for the audience's named surveys together (last week against the week
    before) and an anonymous survey's name for its last two published periods.
    """

    metric: str
    label: str
    survey: str | None
    current: d.Score
    previous: d.Score
    current_from: dt.date
    current_to: dt.date
    previous_from: dt.date | None
    previous_to: dt.date | None
    delta: float | None
    significant: bool

    @property
    def unit(self) -> str:
        return " %" if self.metric == "csat" else ""


@dataclass
class AudienceReport:
    """Everything the report says about one audience (the same for every reader of it, except
    the overdue cases' titles, which `report_for` keeps for analysts only)."""

    audience_id: int
    name: str
    kind_label: Any
    url: str
    headlines: list[Headline] = field(default_factory=list)
    drivers: list[dict[str, Any]] = field(default_factory=list)
    # {language: drivers}: drivers' labels are in the reader's language.
    drivers_by_language: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    topics: list[dict[str, Any]] = field(default_factory=list)
    overdue: int = 0
    overdue_cases: list[dict[str, Any]] = field(default_factory=list)


def _metric(kind: str, question_type: str) -> str:
    if question_type == QuestionType.NPS:
        return "enps" if kind == AudienceKind.EMPLOYEE else "nps"
    return "csat"


def _headline(
    metric: str,
    *,
    survey: str | None,
    current: s.Agg,
    previous: s.Agg | None,
    withheld: set[str],
    sides: tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date] | None],
) -> Headline:
    compared = s.comparison_of(
        metric, current=current, previous=previous or s.Agg(), withheld=withheld
    )
    (current_from, current_to), before = sides
    # As on the dashboard: a change is told only between two sides shown whole.
    significant = bool(compared["significant"]) and not withheld and previous is not None
    return Headline(
        metric=metric,
        label=str(s.METRIC_LABELS[metric]),
        survey=survey,
        current=compared["current"],
        previous=compared["previous"],
        current_from=current_from,
        current_to=current_to,
        previous_from=before[0] if before else None,
        previous_to=before[1] if before else None,
        delta=compared["delta"],
        significant=significant,
    )


def _named_headlines(
    ids: list[int],
    kinds: dict[int, str],
    types: dict[int, set[str]],
    scope: s.Scope,
    week: dt.date,
) -> dict[int, list[Headline]]:
    """Last week against the week before, per audience and metric, of its named surveys."""
    this_from, this_to = week - dt.timedelta(days=7), week - dt.timedelta(days=1)
    before_from, before_to = week - dt.timedelta(days=14), week - dt.timedelta(days=8)
    named = replace(
        scope, surveys={k: v for k, v in scope.surveys.items() if not v.anonymous}, periods={}
    )
    if not named.surveys:
        return {}
    found = s.read(
        question_types=list(REPORT_TYPES),
        keys=(s.SIDE, "audience", s.QUESTION_TYPE),
        fields=s.ALL_FIELDS,
        filters=s.Filters(audience_ids=tuple(ids), date_from=before_from, date_to=this_to),
        scope=named,
        side_from=this_from,
    )
    result: dict[int, list[Headline]] = {}
    for audience_id in ids:
        for question_type in REPORT_TYPES:
            if question_type not in types.get(audience_id, set()):
                continue
            metric = _metric(kinds[audience_id], question_type)
            result.setdefault(audience_id, []).append(
                _headline(
                    metric,
                    survey=None,
                    current=found.shown.get(("current", audience_id, question_type), s.Agg()),
                    previous=found.shown.get(("previous", audience_id, question_type), s.Agg()),
                    withheld=set(),
                    sides=((this_from, this_to), (before_from, before_to)),
                )
            )
    return result


def _anonymous_headlines(
    ids: list[int],
    kinds: dict[int, str],
    types: dict[int, set[str]],
    scope: s.Scope,
    week: dt.date,
) -> dict[int, list[Headline]]:
    """Per anonymous survey, its last published period against the one before, whole."""
    latest: dict[int, list[s.PeriodInfo]] = {}
    for (survey_id, _start), period in sorted(scope.periods.items(), key=lambda kv: kv[0][1]):
        info = scope.surveys.get(survey_id)
        if info is not None and info.anonymous and period.published:
            latest.setdefault(survey_id, []).append(period)
    chosen = {
        survey_id: periods[-2:]
        for survey_id, periods in latest.items()
        if periods[-1].ends_on >= week - dt.timedelta(days=RECENT_PERIOD_DAYS)
    }
    if not chosen:
        return {}
    guarded = replace(
        scope,
        surveys={k: v for k, v in scope.surveys.items() if k in chosen},
        periods={(k, p.starts_on): p for k, ps in chosen.items() for p in ps},
    )
    found = s.read(
        question_types=list(REPORT_TYPES),
        keys=("survey", "day", s.QUESTION_TYPE),
        fields=s.ALL_FIELDS,
        filters=s.Filters(audience_ids=tuple(ids)),
        scope=guarded,
    )
    result: dict[int, list[Headline]] = {}
    for survey_id, periods in sorted(chosen.items(), key=lambda kv: guarded.surveys[kv[0]].name):
        info = guarded.surveys[survey_id]
        last, before = periods[-1], (periods[0] if len(periods) == 2 else None)
        for question_type in REPORT_TYPES:
            if question_type not in types.get(-survey_id, set()):
                continue
            key_last = (survey_id, last.starts_on, question_type)
            withheld = {"current"} if key_last in found.hidden else set()
            previous = None
            if before is not None:
                key_before = (survey_id, before.starts_on, question_type)
                previous = found.shown.get(key_before, s.Agg())
                if key_before in found.hidden:
                    withheld.add("previous")
            result.setdefault(info.audience_id, []).append(
                _headline(
                    _metric(kinds[info.audience_id], question_type),
                    survey=info.name,
                    current=found.shown.get(key_last, s.Agg()),
                    previous=previous,
                    withheld=withheld,
                    sides=(
                        (last.starts_on, last.ends_on),
                        (before.starts_on, before.ends_on) if before else None,
                    ),
                )
            )
    return result


def _overdue(ids: list[int], now: dt.datetime) -> tuple[dict[int, int], dict[int, list[Any]]]:
    """Open cases past due per audience, and the oldest few of each (two queries)."""
    late = Case.objects.filter(audience_id__in=ids, status__in=OPEN_STATUSES, due_at__lt=now)
    counts: dict[int, int] = {}
    for audience_id in late.values_list("audience_id", flat=True).order_by():
        counts[audience_id] = counts.get(audience_id, 0) + 1
    oldest: dict[int, list[Any]] = {}
    if counts:
        ranked = late.annotate(
            rank=Window(
                RowNumber(), partition_by=[F("audience_id")], order_by=[F("due_at"), F("pk")]
            )
        ).filter(rank__lte=OLDEST_CASES)
        for pk, audience_id, title, message, due_at in ranked.values_list(
            "pk", "audience_id", "title", "message", "due_at"
        ).order_by("audience_id", "due_at", "pk"):
            url = absolute_url(reverse("admin:metrics_case_change", args=[pk]))
            # Worded when the e-mail renders, in its reader's language.
            shown = lazy_message_text(message, fallback=title)
            oldest.setdefault(audience_id, []).append(
                {"title": shown, "url": url, "due_at": due_at}
            )
    return counts, oldest


def _percent(value: Any) -> float | None:
    return None if value is None else float(value) * 100


def _insights(
    questions: list[tuple[int, int, str, str, str]],
) -> tuple[dict[int, dict[str, list[dict[str, Any]]]], dict[int, list[dict[str, Any]]]]:
    """Top drivers of each survey's outcome questions (labels in each language) and top topics
    of each survey, per audience: cached results only, nothing is computed for the report."""
    drivers: dict[int, dict[str, list[dict[str, Any]]]] = {}
    topics: dict[int, list[dict[str, Any]]] = {}
    seen: set[int] = set()
    for audience_id, survey_id, survey_name, key, metric in questions:
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                found = top_drivers(survey_id, key, TOP_DRIVERS)
            if found:
                drivers.setdefault(audience_id, {}).setdefault(language, []).append(
                    {
                        "survey": survey_name,
                        "outcome": metric,
                        "results": [
                            {"label": r["label"], "importance": _percent(r["importance"])}
                            for r in found
                        ],
                    }
                )
        if survey_id in seen:
            continue
        seen.add(survey_id)
        found = top_topics(survey_id, TOP_TOPICS)
        if found:
            topics.setdefault(audience_id, []).append(
                {
                    "survey": survey_name,
                    "results": [
                        {
                            "label": r["label"],
                            "share": _percent(r.get("share")),
                            "sentiment": r.get("sentiment"),
                        }
                        for r in found
                    ],
                }
            )
    return drivers, topics


def audience_reports(
    *, audience_ids: list[int], now: dt.datetime | None = None, insights: bool = True
) -> dict[int, AudienceReport]:
    """The report of each audience, {audience id: AudienceReport}, as of `now`.

    Reads only; the query count does not grow with the answers: audiences, questions, the
    scope (surveys, periods), one read of named figures, one of anonymous ones, overdue cases
    (two), plus, with `insights`, the cached drivers and topics of each survey asked (without
    them the count does not grow with the surveys either).
    """
    now = now or timezone.now()
    week = week_of(now)
    audiences = list(
        Audience.objects.filter(pk__in=audience_ids)
        .order_by("name", "pk")
        .only("name", "slug", "kind")
    )
    ids = [a.pk for a in audiences]
    if not ids:
        return {}
    kinds = {a.pk: a.kind for a in audiences}
    # Which metrics each audience's named surveys ask (key: audience id) and each anonymous
    # survey asks (key: -survey id), and the outcome questions drivers are read for.
    types: dict[int, set[str]] = {}
    outcomes: list[tuple[int, int, str, str, str]] = []
    rows = (
        Question.objects.filter(survey__audience_id__in=ids, type__in=list(REPORT_TYPES))
        .values_list(
            "survey__audience_id", "survey_id", "survey__name", "survey__anonymous", "key", "type"
        )
        .order_by("survey__audience_id", "survey__name", "survey_id", "order", "pk")
    )
    for audience_id, survey_id, name, is_anonymous, key, question_type in rows:
        types.setdefault(-survey_id if is_anonymous else audience_id, set()).add(question_type)
        metric = str(s.METRIC_LABELS[_metric(kinds[audience_id], question_type)])
        outcomes.append((audience_id, survey_id, name, key, metric))
    scope = s.read_scope(filters=s.Filters(audience_ids=tuple(ids)), now=now)
    named = _named_headlines(ids, kinds, types, scope, week)
    hidden = _anonymous_headlines(ids, kinds, types, scope, week)
    counts, oldest = _overdue(ids, now)
    drivers, topics = _insights(outcomes) if insights else ({}, {})
    return {
        a.pk: AudienceReport(
            audience_id=a.pk,
            name=a.name,
            kind_label=AudienceKind(a.kind).label,  # lazy: shown in the reader's language
            url=absolute_url(reverse("metrics:audience", args=[a.slug])),
            headlines=named.get(a.pk, []) + hidden.get(a.pk, []),
            drivers_by_language=drivers.get(a.pk, {}),
            topics=topics.get(a.pk, []),
            overdue=counts.get(a.pk, 0),
            overdue_cases=oldest.get(a.pk, []),
        )
        for a in audiences
    }


def visible_audiences(user: Any) -> tuple[list[int], set[int]]:
    """The audiences `user` sees (VIEWER or more, owners and superusers too), sorted, and those
    whose cases they may open (ANALYST or more)."""
    if not getattr(user, "is_active", False):
        return [], set()
    if user.is_superuser:
        every = list(Audience.objects.order_by("pk").values_list("pk", flat=True))
        return every, set(every)
    roles = audience_roles(user)
    return (
        sorted(a for a, r in roles.items() if r >= Role.VIEWER),
        {a for a, r in roles.items() if r >= Role.ANALYST},
    )


def report_for(
    user: Any,
    *,
    language: str = "",
    reports: dict[int, AudienceReport] | None = None,
    now: dt.datetime | None = None,
) -> list[AudienceReport]:
    """The audience reports one user gets in `language` (default: the site's), in name order:
    only audiences they may view, case titles only where they may open cases. `reports` is a
    run's `audience_reports`, if read already."""
    language = language or settings.LANGUAGE_CODE
    viewed, analysed = visible_audiences(user)
    if not viewed:
        return []
    if reports is None:
        reports = audience_reports(audience_ids=viewed, now=now)
    mine = []
    for audience_id in viewed:
        report = reports.get(audience_id)
        if report is None:
            continue
        report = replace(report, drivers=report.drivers_by_language.get(language, []))
        if audience_id not in analysed:
            report = replace(report, overdue_cases=[])
        mine.append(report)
    mine.sort(key=lambda r: (r.name, r.audience_id))
    return mine
