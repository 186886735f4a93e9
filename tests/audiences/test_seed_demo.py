"""`manage.py seed_demo`: a complete demo, and a second run changes nothing."""

import datetime as dt
import io
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Min
from django.utils import timezone

from audiences.demo import DEPARTMENTS, STORES, demo_admin_password, demo_person
from audiences.models import Audience, Consent, Membership, Person
from journeys.models import Journey, Stage, Touchpoint, TouchpointEvent
from metrics.models import DailyRollup
from surveys.models import Response


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            get_user_model(),
            Audience,
            Person,
            Membership,
            Consent,
            Journey,
            Stage,
            Touchpoint,
            TouchpointEvent,
        )
    }


@pytest.fixture
def seeded(db) -> tuple[str, dict[str, int]]:  # noqa: ANN001
    out = io.StringIO()
    call_command("seed_demo", "--people", "200", "--seed", "7", stdout=out, stderr=io.StringIO())
    return out.getvalue(), _counts()


def test_second_run_creates_nothing(seeded):  # noqa: ANN001
    _, first = seeded
    out = io.StringIO()

    call_command("seed_demo", "--people", "200", "--seed", "7", stdout=out, stderr=io.StringIO())

    assert _counts() == first
    assert out.getvalue().startswith("People: 0 new (200 in all); memberships: 0 new")


def test_four_audiences_with_owners_and_journeys(seeded):  # noqa: ANN001
    audiences = Audience.objects.order_by("slug")
    assert [(a.slug, a.kind) for a in audiences] == [
        ("customers", "customer"),
        ("employees", "employee"),
        ("fans", "fan"),
        ("suppliers", "supplier"),
    ]
    assert all(a.owner_id for a in audiences)
    for audience in audiences:
        journey = Journey.objects.get(audience=audience)
        stages = list(journey.stages.annotate(n=Count("touchpoints")))
        assert 4 <= len(stages) <= 7
        assert all(1 <= s.n <= 3 for s in stages)
    roles = set(
        Touchpoint.objects.filter(stage__journey__audience__slug="customers").values_list(
            "role", flat=True
        )
    )
    assert roles >= {
        "purchase",
        "signup",
        "trial_started",
        "trial_converted",
        "churned",
        "referral",
        "support_request",
    }
    # The customers' survey pages are branded (audiences.branding); the others look plain.
    brands = {a.slug: (a.brand_colour, a.brand_font, bool(a.brand_logo_id)) for a in audiences}
    assert brands["customers"] == ("#0f5c4a", "humanist", True)
    assert brands["employees"] == ("", "", False)
    assert audiences.get(slug="customers").brand_logo.content_type == "image/png"


def test_people_and_memberships(seeded):  # noqa: ANN001
    assert Person.objects.count() == 200
    in_two = Person.objects.annotate(n=Count("memberships")).filter(n=2)
    assert in_two.exists()
    both = in_two.filter(memberships__audience__slug="employees").filter(
        memberships__audience__slug="customers"
    )
    assert both.exists()
    assert set(Person.objects.values_list("language", flat=True)) == {"en", "tr"}
    employees = Membership.objects.filter(audience__slug="employees")
    stores = {slug for slug, _weight, _climate in STORES}
    # An employee's segment is their store (what an anonymous answer keeps); the department
    # and the store are attributes, the store on customers' memberships too (the shared unit).
    assert set(employees.values_list("segment", flat=True)) <= stores
    assert all(m.attributes["store"] == m.segment for m in employees)
    assert {m.attributes["department"] for m in employees} <= set(DEPARTMENTS)
    customers = Membership.objects.filter(audience__slug="customers")
    assert {m.attributes["store"] for m in customers} <= stores


def test_the_default_demo_has_large_stores_and_two_of_a_handful_shared_with_customers():
    today = dt.date(2026, 12, 7)
    staff, customers = Counter(), Counter()
    for index in range(3000):
        memberships = demo_person(index, seed=42, today=today)["memberships"]
        employee = memberships.get("employees")
        if employee is not None and "left_on" not in employee:
            staff[employee["segment"]] += 1
        if "customers" in memberships:
            customers[memberships["customers"]["attributes"]["store"]] += 1

    # `seed_demo` (3000 people, seed 42): the two small stores' staff are too few for their
    # anonymous results to show on their own (k = 5 of about two in three answering), the
    # others are not; every store has customers.
    assert staff == {
        "istanbul": 83,
        "ankara": 54,
        "izmir": 51,
        "bursa": 40,
        "konya": 36,
        "adana": 34,
        "antalya": 29,
        "trabzon": 21,
        "mardin": 8,
        "rize": 6,
    }
    assert set(customers) == set(staff) and min(customers.values()) >= 25


def test_events_fall_in_the_last_90_days(seeded):  # noqa: ANN001
    now = timezone.now()
    events = TouchpointEvent.objects.all()
    assert events.count() >= 200
    assert not events.filter(occurred_at__lt=now - dt.timedelta(days=90)).exists()
    assert not events.filter(occurred_at__gt=now).exists()
    purchase = events.filter(touchpoint__role="purchase").first()
    assert purchase is not None and purchase.attributes["value"] > 0
    support = events.filter(touchpoint__role="support_request").first()
    assert support is not None
    assert set(support.attributes) == {"handling_seconds", "first_contact_resolved"}


def test_demo_admin_can_log_in_with_the_printed_password(seeded):  # noqa: ANN001
    out, _ = seeded
    admin = get_user_model().objects.get(username="admin")
    password = demo_admin_password()

    assert admin.is_superuser and admin.check_password(password)
    assert out.splitlines()[-1] == f"Log in at http://127.0.0.1:8000/admin/ as admin / {password}"


def test_seeded_history_is_rolled_up_so_the_dashboard_has_scores(seeded):  # noqa: ANN001
    from metrics.selectors import Filters, aggregate

    customers = Audience.objects.get(slug="customers")
    filters = Filters(audience_id=customers.pk)
    rolled = aggregate(metric="nps", by=None, filters=filters, source="rollup")
    raw = aggregate(metric="nps", by=None, filters=filters, source="raw")
    assert rolled == raw
    assert sum(a.n for a in raw.values()) > 0


def test_the_rollups_reach_back_to_the_pulses_first_wave(seeded):  # noqa: ANN001
    out, _ = seeded
    pulse = Response.objects.filter(survey__name="Employee engagement pulse", released=True)
    first = pulse.aggregate(first=Min("completed_on"))["first"]

    # Its anonymous answers sit on their wave's first day, two quarters and more back.
    assert first is not None and first < timezone.localdate() - dt.timedelta(days=92)
    employees = DailyRollup.objects.filter(audience__slug="employees")
    assert employees.aggregate(first=Min("day"))["first"] == first
    assert sorted(set(employees.values_list("day", flat=True))) == sorted(
        set(pulse.values_list("completed_on", flat=True))
    )
    assert f"rows for the days since {first.isoformat()}." in out


def test_a_fresh_demo_opens_with_topics_and_key_drivers(seeded):  # noqa: ANN001
    from metrics.comments.models import Comment
    from metrics.drivers.models import DriverAnalysis

    out, _ = seeded
    # No beat runs in the embedded demo: the seed files what its five-minute entries would.
    # (200 people write too few comments for topics; the default demo's 3,000 do.)
    assert Comment.objects.exists()
    relationship = DriverAnalysis.objects.filter(
        survey__name__icontains="relationship", outcome="nps"
    ).first()
    assert relationship is not None and relationship.n > 0
    assert "comments processed into topics" in out
    assert "key-driver analyses" in out
