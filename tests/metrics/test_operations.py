"""Operational metrics from role-tagged touchpoint events, against hand-worked numbers."""

import datetime as dt

import pytest

from audiences.models import Membership
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import selectors as s
from metrics.services import rollups_rebuild
from tests.factories import make_touchpoint
from tests.metrics.conftest import build_world, make_people

pytestmark = pytest.mark.django_db

START = dt.date(2026, 5, 1)
END = dt.date(2026, 5, 31)


def test_operational_metrics_follow_the_seed_definitions(django_assert_num_queries) -> None:  # noqa: ANN001
    world = build_world(touchpoints=(("checkout", "Purchase"),))
    aud = world.audience
    tp = {
        role: make_touchpoint(aud, slug=f"ops-{role}", stage_name="Ops", role=role)
        for role in (
            TouchpointRole.PURCHASE,
            TouchpointRole.SIGNUP,
            TouchpointRole.CHURNED,
            TouchpointRole.REFERRAL,
            TouchpointRole.SUPPORT_REQUEST,
            TouchpointRole.TRIAL_STARTED,
            TouchpointRole.TRIAL_CONVERTED,
        )
    }
    people = make_people("ops", 12)
    # 10 members before May (one of them left in April: not a customer at the start), 2 join in May.
    Membership.objects.bulk_create(
        [Membership(person=p, audience=aud, joined_on=dt.date(2026, 1, 1)) for p in people[:10]]
        + [Membership(person=p, audience=aud, joined_on=dt.date(2026, 5, 10)) for p in people[10:]]
    )
    Membership.objects.filter(person=people[9]).update(left_on=dt.date(2026, 4, 20))
    at = dt.datetime(2026, 5, 15, 10, tzinfo=dt.UTC)
    outside = dt.datetime(2026, 6, 2, 10, tzinfo=dt.UTC)

    def ev(
        role: str, person_index: int, when: dt.datetime = at, **attributes: object
    ) -> TouchpointEvent:
        return TouchpointEvent(
            person=people[person_index],
            touchpoint=tp[role],
            occurred_at=when,
            attributes=attributes,
        )

    TouchpointEvent.objects.bulk_create(
        [
            ev(TouchpointRole.PURCHASE, 0, value=100),
            ev(TouchpointRole.PURCHASE, 0, value=50),
            ev(TouchpointRole.PURCHASE, 1, value=30),
            ev(TouchpointRole.PURCHASE, 2, value=20),
            ev(TouchpointRole.PURCHASE, 2, outside, value=999),  # June: outside the period
            ev(TouchpointRole.REFERRAL, 1),
            ev(TouchpointRole.SIGNUP, 10),
            ev(TouchpointRole.SIGNUP, 11),
            ev(TouchpointRole.CHURNED, 3),
            ev(
                TouchpointRole.SUPPORT_REQUEST, 4, handling_seconds=300, first_contact_resolved=True
            ),
            ev(
                TouchpointRole.SUPPORT_REQUEST,
                5,
                handling_seconds=600,
                first_contact_resolved=False,
            ),
            ev(
                TouchpointRole.SUPPORT_REQUEST, 6, handling_seconds=900, first_contact_resolved=True
            ),
            ev(
                TouchpointRole.SUPPORT_REQUEST, 7, handling_seconds=200, first_contact_resolved=True
            ),
            ev(TouchpointRole.TRIAL_STARTED, 8),
            ev(TouchpointRole.TRIAL_STARTED, 10),
            ev(TouchpointRole.TRIAL_STARTED, 11),
            ev(TouchpointRole.TRIAL_STARTED, 5),
            ev(TouchpointRole.TRIAL_CONVERTED, 8),
        ]
    )
    with django_assert_num_queries(2):  # events by role, members at the start
        ops = s.operational_metrics(audience=aud, date_from=START, date_to=END, profit_margin=0.25)
    assert ops["customers_at_start"] == 9
    assert ops["customers_at_end"] == 10  # 9 + 2 new - 1 lost
    assert ops["churn_rate"] == pytest.approx(100 / 9)  # 1 lost / 9 at start
    assert ops["retention_rate"] == pytest.approx(800 / 9)  # (10 - 2) / 9
    # CLV: mean order 50 (200 / 4) × 4/3 purchases per buyer × 9 periods (1 / churn) × 0.25
    assert ops["clv"] == pytest.approx(50 * (4 / 3) * 9 * 0.25)
    assert ops["aht"] == pytest.approx(500.0)  # 2000 s / 4 requests
    assert ops["fcr"] == pytest.approx(75.0)  # 3 of 4
    assert ops["referral_rate"] == pytest.approx(25.0)  # 1 referred / 4 purchases
    assert ops["trial_to_paid"] == pytest.approx(25.0)  # 1 of 4 trials
    # The rollup task's per-person days give the very same figures.
    rollups_rebuild(date_from=START, date_to=END + dt.timedelta(days=5))
    with django_assert_num_queries(2):
        rolled = s.operational_metrics(
            audience=aud, date_from=START, date_to=END, profit_margin=0.25, source="rollup"
        )
    assert rolled == ops


def test_operational_metrics_of_an_empty_period_are_none() -> None:
    world = build_world()
    ops = s.operational_metrics(audience=world.audience, date_from=START, date_to=END)
    rolled = s.operational_metrics(
        audience=world.audience, date_from=START, date_to=END, source="rollup"
    )
    assert rolled == ops
    assert ops["customers_at_start"] == 0
    assert {
        k: v for k, v in ops.items() if k not in ("customers_at_start", "customers_at_end")
    } == {
        "churn_rate": None,
        "retention_rate": None,
        "clv": None,
        "aht": None,
        "fcr": None,
        "referral_rate": None,
        "trial_to_paid": None,
    }
