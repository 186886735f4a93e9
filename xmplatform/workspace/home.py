"""The workspace home's reads: the setup checklist and what needs attention, per user.

Everything is read through the user's audience grants (`audiences.access.scope`) and shown as
counts and names of surveys or audiences only, never a person or an answer:

- the checklist ticks each step of a first setup from what exists in the user's audiences;
- overdue cases and their count assigned to the user (the closed loop's analysts);
- invitations whose delivery is unknown, counted as the reconcile page lists them (below
  superuser, anonymous surveys' are left out there, so here too);
- live surveys whose distribution suppressed most of the people it drew in the last
  SUPPRESSION_DAYS days (the wave forecast runs the fatigue guard over a whole audience, too
  slow for a home page; what the plans actually suppressed is already counted);
- headline scores that changed beyond their combined margin, last week against the week
  before (anonymous surveys: their last two published periods), as the weekly report reads
  them (metrics.reports.selectors).

Reads only; the number of queries does not grow with audiences, surveys or rows (see
tests/workspace/test_home.py for the count).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audiences.access import audience_ids, scope
from audiences.models import Audience, Role
from journeys.models import Journey
from metrics.access import VIEW_PERMISSION
from metrics.closedloop.models import OPEN_STATUSES, Case
from metrics.reports.selectors import audience_reports
from surveys.models import (
    DistributionRule,
    Invitation,
    InvitationState,
    Question,
    Response,
    Survey,
    SurveyStatus,
)
from xmplatform.workspace.navigation import model_admin_for

SUPPRESSION_DAYS = 30
# A survey is listed when more than this share of the people drawn were suppressed, and at
# least SUPPRESSION_MIN were drawn (two of three is not yet a pattern).
SUPPRESSION_SHARE = 0.5
SUPPRESSION_MIN = 10
LISTED = 5
# The models a first setup adds: a user who may add none of them gets no checklist.
SETUP_MODELS = (
    "audiences.audience",
    "journeys.journey",
    "surveys.survey",
    "surveys.distributionrule",
)


@dataclass(frozen=True)
class Step:
    """One step of the setup checklist: done or not, and where to do it."""

    key: str
    label: Any
    hint: Any
    done: bool
    url: str | None
    action: Any


def _link(request: HttpRequest, label: str, *, add: bool) -> str | None:
    """The add page of `label` if the user may add, else its list if they may view it."""
    model_admin = model_admin_for(label)
    if model_admin is None:
        return None
    app, model = label.split(".")
    if add and model_admin.has_add_permission(request):
        return reverse(f"admin:{app}_{model}_add")
    if model_admin.has_view_or_change_permission(request):
        return reverse(f"admin:{app}_{model}_changelist")
    return None


def setup_checklist(request: HttpRequest) -> list[Step]:
    """The five steps of a first setup, each ticked from the data of the user's audiences.

    An audience with an owner → a journey → a survey with questions (from a template) → a
    distribution rule → a first response (released: an anonymous survey's responses count
    only once their batch is released, as everywhere below superuser). Five queries.
    """
    user = request.user
    survey_admin = model_admin_for("surveys.survey")
    from_template = (
        reverse("admin:surveys_survey_from_template")
        if survey_admin is not None and survey_admin.has_add_permission(request)
        else _link(request, "surveys.survey", add=False)
    )
    has_questions = Exists(Question.objects.filter(survey_id=OuterRef("pk")))
    done = {
        # Every audience has an owner (the field is required).
        "audience": scope(Audience.objects.all(), user=user).exists(),
        "journey": scope(Journey.objects.all(), user=user).exists(),
        "survey": scope(Survey.objects.filter(has_questions), user=user).exists(),
        "rule": scope(DistributionRule.objects.all(), user=user).exists(),
        "response": scope(
            Response.objects.filter(completed_on__isnull=False, released=True), user=user
        ).exists(),
    }
    return [
        Step(
            "audience",
            _("Create an audience and give it an owner"),
            _("Who you serve (customers, employees, dealers…) and who is accountable."),
            done["audience"],
            _link(request, "audiences.audience", add=not done["audience"]),
            _("Add an audience"),
        ),
        Step(
            "journey",
            _("Map its journey"),
            _("Stages and the touchpoints where people meet you."),
            done["journey"],
            _link(request, "journeys.journey", add=not done["journey"]),
            _("Add a journey"),
        ),
        Step(
            "survey",
            _("Create a survey from a template"),
            _("NPS, CSAT, CES or an engagement pulse, ready to adjust."),
            done["survey"],
            from_template,
            _("Choose a template"),
        ),
        Step(
            "rule",
            _("Decide who receives it"),
            _("A distribution rule: after a touchpoint, or a scheduled wave."),
            done["rule"],
            _link(request, "surveys.distributionrule", add=not done["rule"]),
            _("Add a distribution rule"),
        ),
        Step(
            "response",
            _("Receive the first response"),
            _("Send a test to yourself, or wait for the first invitation to be answered."),
            done["response"],
            _link(request, "surveys.response", add=False),
            _("See responses"),
        ),
    ]


def checklist_is_for(request: HttpRequest) -> bool:
    """Whether the user sets things up (may add audiences, journeys, surveys or rules)."""
    labels = (
        "audiences.audience",
        "journeys.journey",
        "surveys.survey",
        "surveys.distributionrule",
    )
    for label in labels:
        model_admin = model_admin_for(label)
        if model_admin is not None and model_admin.has_add_permission(request):
            return True
    return False


def overdue_cases(request: HttpRequest, *, now: dt.datetime) -> dict[str, int] | None:
    """{"total", "mine"}: open cases past due in the user's audiences; None without access."""
    model_admin = model_admin_for("metrics.case")
    if model_admin is None or not model_admin.has_view_permission(request):
        return None
    role = getattr(model_admin, "view_role", Role.VIEWER)
    late = scope(
        Case.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now),
        user=request.user,
        role=role,
    )
    return late.aggregate(total=Count("pk"), mine=Count("pk", filter=Q(assignee=request.user)))


def delivery_unknown(request: HttpRequest) -> int | None:
    """Invitations whose delivery is unknown, as the reconcile page lists them; None without
    access to that page."""
    model_admin = model_admin_for("surveys.distributionrule")
    if model_admin is None or not model_admin.has_view_permission(request):
        return None
    role = getattr(model_admin, "view_role", Role.VIEWER)
    unknown = scope(
        Invitation.objects.filter(state=InvitationState.DELIVERY_UNKNOWN),
        user=request.user,
        role=role,
    )
    if not request.user.is_superuser:
        unknown = unknown.filter(survey__anonymous=False)
    return unknown.count()


def mostly_suppressed(request: HttpRequest, *, now: dt.datetime) -> list[dict[str, Any]] | None:
    """Live surveys whose invitations due in the last SUPPRESSION_DAYS days were mostly
    suppressed by the fatigue guard or the channels (one grouped query, then their names).

    [{"survey", "suppressed", "total", "url"}], most suppressed share first; None without
    access to the distribution pages.
    """
    model_admin = model_admin_for("surveys.distributionrule")
    if model_admin is None or not model_admin.has_view_permission(request):
        return None
    role = getattr(model_admin, "view_role", Role.VIEWER)
    surveys = scope(Survey.objects.filter(status=SurveyStatus.LIVE), user=request.user, role=role)
    rows = list(
        Invitation.objects.filter(
            survey__in=surveys.values("pk"), due_at__gte=now - dt.timedelta(days=SUPPRESSION_DAYS)
        )
        .values("survey_id")
        .annotate(
            total=Count("pk"),
            suppressed=Count("pk", filter=Q(state=InvitationState.SUPPRESSED)),
        )
        .filter(total__gte=SUPPRESSION_MIN)
        .order_by()
    )
    flagged = [r for r in rows if r["suppressed"] > r["total"] * SUPPRESSION_SHARE]
    flagged.sort(key=lambda r: (-r["suppressed"] / r["total"], r["survey_id"]))
    flagged = flagged[:LISTED]
    if not flagged:
        return []
    names = dict(
        Survey.objects.filter(pk__in=[r["survey_id"] for r in flagged]).values_list("pk", "name")
    )
    return [
        {
            "survey": names.get(r["survey_id"], ""),
            "suppressed": r["suppressed"],
            "total": r["total"],
            "url": reverse("admin:surveys_distribution_panel", args=[r["survey_id"]]),
        }
        for r in flagged
    ]


def score_changes(request: HttpRequest, *, now: dt.datetime) -> list[dict[str, Any]] | None:
    """Headline scores of the user's audiences that moved beyond their combined margin of
    error, as the weekly report reads them; None without the permission to view metrics."""
    user = request.user
    if not user.has_perm(VIEW_PERMISSION):
        return None
    ids = audience_ids(user, Role.VIEWER)
    if ids is None:
        ids = list(Audience.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return []
    reports = audience_reports(audience_ids=ids, now=now, insights=False)
    changes = []
    for report in sorted(reports.values(), key=lambda r: (r.name, r.audience_id)):
        for headline in report.headlines:
            if not headline.significant or headline.delta is None:
                continue
            changes.append(
                {
                    "audience": report.name,
                    "metric": headline.label,
                    "survey": headline.survey,
                    "current": headline.current,
                    "previous": headline.previous,
                    "delta": headline.delta,
                    "unit": headline.unit,
                    "up": headline.delta > 0,
                    "url": report.url.removeprefix(settings.SITE_URL),
                }
            )
    return changes


def home_context(request: HttpRequest, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the home page shows for `request.user`."""
    now = now or timezone.now()
    checklist = setup_checklist(request) if checklist_is_for(request) else []
    overdue = overdue_cases(request, now=now)
    unknown = delivery_unknown(request)
    suppressed = mostly_suppressed(request, now=now)
    changes = score_changes(request, now=now)
    attention = bool((overdue and overdue["total"]) or unknown or suppressed or changes)
    return {
        "checklist": checklist,
        "checklist_done": sum(step.done for step in checklist),
        "checklist_complete": bool(checklist) and all(step.done for step in checklist),
        "overdue": overdue,
        "delivery_unknown": unknown,
        "mostly_suppressed": suppressed,
        "score_changes": changes,
        "suppression_days": SUPPRESSION_DAYS,
        "attention": attention,
        "can_view_metrics": request.user.has_perm(VIEW_PERMISSION),
        "can_work_cases": overdue is not None,
    }
