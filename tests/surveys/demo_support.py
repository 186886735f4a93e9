"""The small demo world the demo seed tests run on, and how they run the seeds."""

import datetime
import io
import random

from django.core.management.base import OutputWrapper

from audiences.models import AudienceKind, Membership, Person
from journeys.models import TouchpointRole
from surveys.demo import seed_distribution, seed_surveys
from tests.factories import make_audience, make_touchpoint

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
# The quarterly pulse's runs up to NOW (09:00 UTC on the first of January, April, July, October).
RUNS = [datetime.datetime(2026, month, 1, 9, 0, tzinfo=datetime.UTC) for month in (4, 7, 10)]
RUN_DAYS = [run.date() for run in RUNS]


def published(ends_on: datetime.date) -> datetime.datetime:
    """When the beat publishes a period that ended on `ends_on`: 00:05 UTC the day after."""
    return datetime.datetime.combine(
        ends_on + datetime.timedelta(days=1), datetime.time(0, 5), tzinfo=datetime.UTC
    )


SEGMENTS = {
    "customers": ["gold", "silver", "bronze"],
    "employees": ["IT", "Sales"],
    "fans": ["season", "casual"],
}


def demo_world(people_per_audience: int = 30) -> dict:
    """Customers (4 touchpoints, one purchase, one support), employees and fans; no suppliers."""
    customers = make_audience("customers", AudienceKind.CUSTOMER)
    employees = make_audience("employees", AudienceKind.EMPLOYEE)
    fans = make_audience("fans", AudienceKind.FAN)
    touchpoints = {
        "visit": make_touchpoint(customers, "site-visit", stage_name="Awareness"),
        "checkout": make_touchpoint(
            customers, "checkout", stage_name="Purchase", role=TouchpointRole.PURCHASE
        ),
        "delivery": make_touchpoint(customers, "delivery", stage_name="Purchase"),
        "support": make_touchpoint(
            customers, "ticket-closed", stage_name="Support", role=TouchpointRole.SUPPORT_REQUEST
        ),
        "onboarding": make_touchpoint(employees, "first-day", stage_name="Onboarding"),
        "gate": make_touchpoint(fans, "stadium-entry", stage_name="Match day"),
    }
    people, memberships = [], []
    for audience in (customers, employees, fans):
        for n in range(people_per_audience):
            people.append(
                Person(
                    external_id=f"{audience.slug}-{n}",
                    email=f"{audience.slug}-{n}@example.com",
                    language="en" if n % 3 == 0 else "tr",
                )
            )
    Person.objects.bulk_create(people)
    by_id = {p.external_id: p for p in Person.objects.all()}
    for audience in (customers, employees, fans):
        segments = SEGMENTS[audience.slug]
        for n in range(people_per_audience):
            memberships.append(
                Membership(
                    person=by_id[f"{audience.slug}-{n}"],
                    audience=audience,
                    segment=segments[n % len(segments)],
                )
            )
    Membership.objects.bulk_create(memberships)
    return {"customers": customers, "employees": employees, "fans": fans, **touchpoints}


def run(**overrides) -> dict:
    out = io.StringIO()
    options = {"now": NOW, "rng": random.Random(42), "stdout": OutputWrapper(out)}
    counts = seed_surveys(**{**options, **overrides})
    counts["output"] = out.getvalue()
    return counts


def distribute(**overrides) -> dict:
    out = io.StringIO()
    totals = seed_distribution(**{"now": NOW, "stdout": OutputWrapper(out), **overrides})
    totals["output"] = out.getvalue()
    return totals
