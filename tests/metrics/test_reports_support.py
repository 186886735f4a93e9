"""Builders for the weekly report's tests: the cast, a customer audience with two weeks of
answers, an employee audience whose survey is anonymous, overdue cases. (No tests here.)"""

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model

from audiences.models import Audience, AudienceGrant, Role
from metrics.models import (
    Alert,
    AlertRule,
    Case,
    CaseStatus,
    NotifyMode,
    ReportSubscription,
    RootCause,
)
from tests.metrics.closed_loop_support import detractor_rule
from tests.metrics.conftest import (
    TODAY,
    World,
    add_period,
    add_responses,
    anonymous_world,
    build_world,
)

# Monday 15 June 2026, 07:00 UTC: the beat's moment. Last week is 8–14 June, the one before 1–7.
NOW = dt.datetime.combine(TODAY, dt.time(7), tzinfo=dt.UTC)
WEEK = TODAY
LAST_WEEK = TODAY - dt.timedelta(days=3)  # Friday 12 June
WEEK_BEFORE = TODAY - dt.timedelta(days=10)  # Friday 5 June


def staff_user(username: str, **extra: Any) -> Any:
    """An active staff user with an e-mail address (the report goes to admin users)."""
    extra.setdefault("is_staff", True)
    extra.setdefault("email", f"{username}@example.com")
    return get_user_model().objects.create_user(
        username=username, password="correct-horse-battery", **extra
    )


def grant(user: Any, audience: Audience, role: int = Role.VIEWER) -> None:
    AudienceGrant.objects.create(user=user, audience=audience, role=role)


def subscribe(user: Any, *, language: str = "en", enabled: bool = True) -> ReportSubscription:
    return ReportSubscription.objects.create(user=user, enabled=enabled, language=language)


def customers_with_two_weeks() -> World:
    """Customers: NPS rose from −100 to +100 (40 answers each week: far beyond the margin);
    CSAT 50 % → 55 % (20 answers each: within it)."""
    world = build_world("customers")
    add_responses(
        world,
        [
            {"nps": 10, "day": LAST_WEEK, **({"csat": 4 if i < 10 else 2} if i < 20 else {})}
            for i in range(40)
        ],
    )
    add_responses(
        world,
        [
            {"nps": 0, "day": WEEK_BEFORE, **({"csat": 4 if i < 11 else 2} if i < 20 else {})}
            for i in range(40)
        ],
    )
    return world


def staff_with_anonymous_periods() -> World:
    """Employees, anonymous pulse (k = 5): April published with 3 answers (withheld), May
    published with 6, June still open with 20 — among them 12 detractors."""
    world = anonymous_world("staff")
    survey = world.survey
    add_period(survey, dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    add_period(survey, dt.date(2026, 5, 1), dt.date(2026, 5, 31))
    add_period(survey, dt.date(2026, 6, 1), dt.date(2026, 6, 30), published=False)
    add_responses(world, [{"nps": 9, "day": dt.date(2026, 4, 1)} for _ in range(3)])
    add_responses(world, [{"nps": v, "day": dt.date(2026, 5, 1)} for v in (10, 10, 9, 8, 3, 10)])
    add_responses(
        world, [{"nps": 0 if i < 12 else 10, "day": dt.date(2026, 6, 1)} for i in range(20)]
    )
    return world


def case(rule: AlertRule, *, title: str, due: dt.datetime, closed: bool = False) -> Case:
    """An alert of `rule` and its case (as a rule would open it), due at `due`."""
    alert = Alert.objects.create(
        rule=rule,
        audience=rule.audience,
        window_start=due - dt.timedelta(days=Alert.objects.count() + 30),
        summary=title,
        opened_at=due - dt.timedelta(days=1),
        notify=NotifyMode.NONE,
    )
    return Case.objects.create(
        alert=alert,
        audience=rule.audience,
        title=title,
        assignee=rule.audience.owner,
        opened_at=due - dt.timedelta(days=1),
        due_at=due,
        status=CaseStatus.RESOLVED if closed else CaseStatus.NEW,
        closed_at=due if closed else None,
        root_cause=RootCause.objects.get_or_create(name="Delivery")[0] if closed else None,
    )


def overdue_cases(world: World) -> AlertRule:
    """Cases of the world's audience as of NOW: two overdue (the older first), one not yet due,
    one overdue but resolved."""
    rule = detractor_rule(world.survey)
    case(rule, title="Late delivery complaint", due=NOW - dt.timedelta(days=3))
    case(rule, title="Refund not received", due=NOW - dt.timedelta(hours=2))
    case(rule, title="Not yet due", due=NOW + dt.timedelta(days=1))
    case(rule, title="Resolved already", due=NOW - dt.timedelta(days=5), closed=True)
    return rule
