"""Builders for the workspace's tests: the cast and a workspace with something to attend to.

Customers (a named survey) and staff (an anonymous pulse) each have overdue cases, an
invitation whose delivery is unknown and a survey whose invitations were mostly suppressed;
the customers' NPS rose from −100 to +100 last week (far beyond the margin). Every name of the
staff audience carries STAFF_MARK, so a page that shows one to a customer-only user is caught.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from audiences.models import AudienceGrant, AudienceKind
from metrics.reports.selectors import week_of
from surveys.models import InvitationState
from tests.factories import make_person
from tests.metrics.closed_loop_support import detractor_rule
from tests.metrics.conftest import World, add_responses, build_world
from tests.metrics.test_reports_support import case
from tests.surveys.distribution_factories import make_invitation

PASSWORD = "correct-horse-battery"
STAFF_MARK = "Zebraquartz"
PERSON_MARK = "Kiwifalcon"


def staff_user(username: str, **extra: Any) -> Any:
    extra.setdefault("is_staff", True)
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )


def grant(user: Any, world: World, role: int) -> None:
    AudienceGrant.objects.create(user=user, audience=world.audience, role=role)


@dataclass
class Workspace:
    customers: World
    staff: World


def _attention(world: World, *, now: dt.datetime, prefix: str) -> None:
    """Two overdue cases (one of them the owner's), one not yet due, one invitation with
    delivery unknown, and 12 of 15 invitations suppressed in the last days."""
    rule = detractor_rule(world.survey)
    case(rule, title=f"{prefix} late delivery", due=now - dt.timedelta(days=3))
    late = case(rule, title=f"{prefix} refund", due=now - dt.timedelta(hours=2))
    late.assignee = None
    late.save(update_fields=["assignee"])
    case(rule, title=f"{prefix} not yet due", due=now + dt.timedelta(days=1))
    people = [
        make_person(f"{prefix.lower()}-{i}", name=f"{PERSON_MARK} {prefix} {i}") for i in range(16)
    ]
    make_invitation(
        world.survey,
        people[0],
        state=InvitationState.DELIVERY_UNKNOWN,
        claimed_at=now - dt.timedelta(hours=1),
        due_at=now - dt.timedelta(hours=1),
    )
    for i, person in enumerate(people[1:]):
        make_invitation(
            world.survey,
            person,
            state=InvitationState.SUPPRESSED if i < 12 else InvitationState.PLANNED,
            suppression_reason="frequency_cap" if i < 12 else "",
            due_at=now - dt.timedelta(days=2),
        )


def busy_workspace(now: dt.datetime) -> Workspace:
    """Both audiences with their journeys, live surveys, responses and things to attend to."""
    customers = build_world("customers")
    staff = build_world("staff", kind=AudienceKind.EMPLOYEE)
    staff.audience.name = f"{STAFF_MARK} staff"
    staff.audience.save(update_fields=["name"])
    staff.survey.name = f"{STAFF_MARK} pulse"
    staff.survey.anonymous = True
    staff.survey.save(update_fields=["name", "anonymous"])
    monday = week_of(now)
    add_responses(customers, [{"nps": 10, "day": monday - dt.timedelta(days=3)}] * 40)
    add_responses(customers, [{"nps": 0, "day": monday - dt.timedelta(days=10)}] * 40)
    _attention(customers, now=now, prefix="Customer")
    _attention(staff, now=now, prefix=STAFF_MARK)
    return Workspace(customers=customers, staff=staff)
