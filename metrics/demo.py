"""Demo closed loop: alert rules for the demo customers, their alerts and follow-up cases.

The demo responses are written set-based (no outbox rows, so no handler evaluates them), so
the response rules are evaluated here over the recent named customer responses, each at the
moment it was completed. The older ones are history and open no cases.
Older cases are closed deterministically (by response id), so a second run changes nothing."""

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from audiences.models import Audience
from metrics.closedloop.response_rules import response_alerts_open
from metrics.models import (
    CLOSED_STATUSES,
    AlertRule,
    Case,
    CaseStatus,
    NotifyMode,
    RootCause,
    RuleCondition,
    ScoreMetric,
)
from surveys.models import Response

DEMO_AUDIENCE = "customers"
RECENT_DAYS = 30
# A case opened this long ago has been worked: most are resolved, some will not be fixed.
WORKED_AFTER = dt.timedelta(days=3)
DEMO_RULES: list[dict[str, Any]] = [
    {
        "name": "Call back detractors",
        "condition": RuleCondition.ANSWER_AT_MOST,
        "question_type": ScoreMetric.NPS,
        "threshold": 6,
        "sla": dt.timedelta(days=2),
    },
    {
        "name": "Dissatisfied after an order",
        "condition": RuleCondition.ANSWER_AT_MOST,
        "question_type": ScoreMetric.CSAT,
        "threshold": 2,
        "sla": dt.timedelta(days=1),
    },
    {
        "name": "Touchpoint NPS below 0 this week",
        "condition": RuleCondition.SCORE_BELOW,
        "question_type": ScoreMetric.NPS,
        "threshold": 0,
        "window_days": 7,
    },
]


@transaction.atomic
def seed_closed_loop(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Rules, alerts and cases for the demo customers; returns what was created or closed."""
    now = now or timezone.now()
    audience = Audience.objects.filter(slug=DEMO_AUDIENCE).first()
    if audience is None:
        return {"rules": 0, "alerts": 0, "closed": 0}
    rules = 0
    for spec in DEMO_RULES:
        _rule, created = AlertRule.objects.get_or_create(
            audience=audience,
            name=spec["name"],
            # The digest, not one e-mail per demo alert on the console.
            defaults={**spec, "notify": NotifyMode.DIGEST},
        )
        rules += created
    since = timezone.localdate(now) - dt.timedelta(days=RECENT_DAYS)
    recent = Response.objects.filter(
        audience=audience,
        survey__anonymous=False,
        completed_on__gte=since,
        completed_at__isnull=False,
    ).order_by("completed_at", "id")
    alerts = 0
    for response_id, completed_at in recent.values_list("id", "completed_at").iterator():
        alerts += len(response_alerts_open(response_id=response_id, now=completed_at))
    return {"rules": rules, "alerts": alerts, "closed": _work_old_cases(audience, now)}


def _work_old_cases(audience: Audience, now: dt.datetime) -> int:
    """Close four in five of the cases older than WORKED_AFTER, with a root cause."""
    causes = list(RootCause.objects.filter(active=True).order_by("pk").values_list("pk", flat=True))
    if not causes:
        return 0
    closed = 0
    old = Case.objects.filter(
        audience=audience, opened_at__lt=now - WORKED_AFTER, closed_at__isnull=True
    ).exclude(status__in=CLOSED_STATUSES)
    for case in old.order_by("pk"):
        if case.pk % 5 == 0:
            continue  # still open: the overdue cases at the top of "my open cases"
        case.status = CaseStatus.WONT_FIX if case.pk % 7 == 0 else CaseStatus.RESOLVED
        case.root_cause_id = causes[case.pk % len(causes)]
        case.closed_at = case.opened_at + dt.timedelta(hours=4 + case.pk % 44)
        case.save(update_fields=["status", "root_cause", "closed_at"])
        closed += 1
    return closed
