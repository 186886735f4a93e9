"""Return on Experience: what followed the answers per NPS category, with margins, against
hand-worked numbers, on the raw and the rollup path alike."""

import datetime as dt
import math

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone, translation

from audiences.models import Membership
from audiences.services import membership_remove
from journeys.models import TouchpointEvent, TouchpointRole
from metrics import selectors as s
from metrics.services import late_events_refresh, rollups_rebuild
from tests.factories import make_touchpoint
from tests.metrics.conftest import TODAY, add_responses, build_world, make_people

pytestmark = pytest.mark.django_db

NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)  # when add_responses answers
AFTER = NOON + dt.timedelta(days=3)
BEFORE = NOON - dt.timedelta(days=3)


def _world(threshold: int = 2):  # noqa: ANN202
    world = build_world(threshold=threshold)
    for role in (TouchpointRole.PURCHASE, TouchpointRole.CHURNED, TouchpointRole.REFERRAL):
        world.touchpoints[role] = make_touchpoint(
            world.audience, slug=f"rox-{role}", stage_name="Account", role=role
        )
    return world


def _event(world, person, role: str, at: dt.datetime, **attributes) -> TouchpointEvent:  # noqa: ANN001
    return TouchpointEvent.objects.create(
        person=person, touchpoint=world.touchpoints[role], occurred_at=at, attributes=attributes
    )


def _both(world) -> tuple[dict, dict]:  # noqa: ANN001
    rollups_rebuild(date_from=TODAY - dt.timedelta(days=5), date_to=TODAY)
    f = s.Filters()
    return (
        s.return_on_experience(audience=world.audience, filters=f, source="raw"),
        s.return_on_experience(audience=world.audience, filters=f, source="rollup"),
    )


def test_a_customer_who_leaves_after_answering_is_churn_as_the_operations_panel_counts_it() -> None:
    # The demo once showed 100 % retention for every category beside a 4.9 % churn: nobody who
    # answered ever left. A respondent who leaves after answering must be churn on both paths,
    # through the same churn event the operations panel counts.
    world = _world()
    promoters, detractors = make_people("p", 2), make_people("d", 2)
    for person in promoters + detractors:
        Membership.objects.create(
            person=person, audience=world.audience, joined_on=dt.date(2026, 1, 1)
        )
    add_responses(world, [{"nps": 10, "person": p} for p in promoters])
    add_responses(world, [{"nps": 2, "person": p} for p in detractors])
    _event(world, detractors[0], TouchpointRole.CHURNED, AFTER)
    membership_remove(person=detractors[0], audience=world.audience, left_on=AFTER.date())
    _event(world, detractors[1], TouchpointRole.CHURNED, BEFORE)  # left before: not an outcome

    raw, rolled = _both(world)

    assert raw == rolled
    assert rolled["detractor"]["churned"] == 1
    assert rolled["detractor"]["churn_rate"] == pytest.approx(50.0)
    assert rolled["detractor"]["retention_rate"] == pytest.approx(50.0)
    assert rolled["promoter"]["retention_rate"] == pytest.approx(100.0)
    assert rolled["all"]["churn_rate"] == pytest.approx(25.0)
    ops = s.operational_metrics(
        audience=world.audience, date_from=TODAY, date_to=TODAY + dt.timedelta(days=5)
    )
    assert ops["churn_rate"] == pytest.approx(25.0)  # the same event: 1 of the 4 at the start


def test_a_churn_recorded_later_reaches_the_rollup_through_the_late_events_refresh() -> None:
    world = _world()
    people = make_people("x", 2)
    add_responses(world, [{"nps": 3, "person": p} for p in people])
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    recorded = timezone.now()
    _event(world, people[0], TouchpointRole.CHURNED, AFTER)
    _event(world, people[1], TouchpointRole.REFERRAL, AFTER, value=40)

    late_events_refresh(since=recorded - dt.timedelta(seconds=1))

    rox = s.return_on_experience(audience=world.audience, filters=s.Filters(), source="rollup")
    assert (rox["detractor"]["churned"], rox["detractor"]["referred"]) == (1, 1)


def test_figures_carry_their_95_percent_margins() -> None:
    world = _world()
    people = make_people("m", 8)
    add_responses(world, [{"nps": 9, "person": p} for p in people])
    spends = [0, 10, 20, 30, 40, 50, 60, 200]
    for person, value in zip(people, spends, strict=True):
        if value:
            _event(world, person, TouchpointRole.PURCHASE, AFTER, value=value)
    for person in people[:2]:
        _event(world, person, TouchpointRole.CHURNED, AFTER + dt.timedelta(days=1))
    _event(world, people[7], TouchpointRole.REFERRAL, AFTER, value=99)
    _event(world, people[6], TouchpointRole.REFERRAL, BEFORE, value=99)  # before: not counted

    raw, rolled = _both(world)

    assert raw == rolled
    p = rolled["promoter"]
    assert p["n"] == 8
    assert p["churn_rate"] == pytest.approx(25.0)
    assert p["churn_margin"] == pytest.approx(1.96 * math.sqrt(0.25 * 0.75 / 8) * 100)
    assert p["retention_margin"] == p["churn_margin"]
    assert p["referral_rate"] == pytest.approx(12.5)
    assert p["referral_margin"] == pytest.approx(1.96 * math.sqrt(0.125 * 0.875 / 8) * 100)
    assert p["mean_spend"] == pytest.approx(np.mean(spends))
    assert p["spend_margin"] == pytest.approx(1.96 * np.std(spends, ddof=1) / math.sqrt(8))
    assert rolled["currency"] == "TRY"


def test_promoters_and_detractors_differ_only_beyond_their_combined_margin() -> None:
    world = _world()
    promoters, detractors = make_people("p", 40), make_people("d", 40)
    add_responses(world, [{"nps": 10, "person": p} for p in promoters])
    add_responses(world, [{"nps": 0, "person": p} for p in detractors])
    # Churn: 2 of 40 promoters, 20 of 40 detractors (far apart). Referral: 4 against 3 (close).
    for person in promoters[:2] + detractors[:20]:
        _event(world, person, TouchpointRole.CHURNED, AFTER)
    for person in promoters[:4] + detractors[:3]:
        _event(world, person, TouchpointRole.REFERRAL, AFTER, value=10)

    _raw, rox = _both(world)

    retention, referral = rox["difference"]["retention"], rox["difference"]["referral"]
    assert retention["value"] == pytest.approx(95.0 - 50.0)
    margin = math.hypot(rox["promoter"]["retention_margin"], rox["detractor"]["retention_margin"])
    assert retention["margin"] == pytest.approx(margin)
    assert retention["significant"] is True
    assert referral["value"] == pytest.approx(10.0 - 7.5)
    assert referral["significant"] is False
    # Nobody spent: no spread, so no margin and no claim.
    assert rox["difference"]["spend"]["significant"] is False


def test_a_small_category_is_withheld_and_so_is_the_total_that_would_reveal_it() -> None:
    world = _world(threshold=3)
    promoters, detractors, passive = make_people("p", 3), make_people("d", 3), make_people("q", 1)
    add_responses(world, [{"nps": 10, "person": p} for p in promoters])
    add_responses(world, [{"nps": 1, "person": p} for p in detractors])
    add_responses(world, [{"nps": 7, "person": p} for p in passive])
    _event(world, passive[0], TouchpointRole.CHURNED, AFTER)

    raw, rolled = _both(world)

    assert raw == rolled
    assert rolled["passive"] == {"n": 1, "suppressed": True}
    # All minus promoters minus detractors would be the passive's own outcome.
    assert rolled["all"] == {"n": 7, "suppressed": True}
    assert rolled["difference"] is not None


def test_anonymous_answers_never_reach_return_on_experience() -> None:
    world = _world()
    world.survey.anonymous = True
    world.survey.save(update_fields=["anonymous"])
    people = make_people("a", 3)
    add_responses(world, [{"nps": 10, "person": p} for p in people])

    raw, rolled = _both(world)

    assert raw == rolled
    assert rolled["promoter"] == {"n": 0, "suppressed": True}
    assert rolled["difference"] is None


def test_the_page_shows_margins_the_difference_and_the_currency_in_the_active_language(
    client, xm_manager, settings, django_assert_max_num_queries
) -> None:  # noqa: ANN001
    settings.XM_CURRENCY = "EUR"
    world = _world(threshold=2)
    promoters, detractors = make_people("p", 30), make_people("d", 30)
    add_responses(world, [{"nps": 10, "person": p} for p in promoters])
    add_responses(world, [{"nps": 1, "person": p} for p in detractors])
    for person in promoters:
        _event(world, person, TouchpointRole.PURCHASE, AFTER, value=1234.5)
    for person in detractors[:15]:
        _event(world, person, TouchpointRole.CHURNED, AFTER)
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    client.force_login(xm_manager)
    url = reverse("metrics:audience", args=[world.audience.slug]) + "?period=all"

    # The requests activate their language in this thread: put the test's back after them.
    with translation.override("en"):
        with django_assert_max_num_queries(80):
            english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        turkish = client.get(url, HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    block = english[english.index('id="xm-rox"') :]
    assert "Mean spend after answering (EUR)" in block
    assert "1,234" in block or "1,235" in block  # grouped, English
    assert "beyond the margin of error" in block
    assert 'class="xm-rox-margin">± ' in block
    tr_block = turkish[turkish.index('id="xm-rox"') :]
    assert "EUR" in tr_block
    assert "1.234" in tr_block or "1.235" in tr_block  # grouped, Turkish
    assert "50,0 %" in tr_block  # the detractors' churn, Turkish decimal comma


def test_the_migration_fills_referred_and_spend_squares_of_outcomes_filed_before_it() -> None:
    import importlib

    from django.apps import apps

    from metrics.models import AnswerOutcome, DailyOutcome

    migration = importlib.import_module("metrics.migrations.0013_rox_referred_spend_squares")
    world = _world()
    people = make_people("o", 3)
    add_responses(world, [{"nps": 10, "person": p} for p in people])
    for person, value in zip(people, (10, 20, 40), strict=True):
        _event(world, person, TouchpointRole.PURCHASE, AFTER, value=value)
    _event(world, people[0], TouchpointRole.REFERRAL, AFTER, value=5)
    _event(world, people[1], TouchpointRole.REFERRAL, BEFORE, value=5)
    rollups_rebuild(date_from=TODAY, date_to=TODAY)
    expected = s.return_on_experience(audience=world.audience, filters=s.Filters())
    # As filed before the migration: no referral, no squares.
    AnswerOutcome.objects.update(referred=False)
    DailyOutcome.objects.update(referred=0, spend_sumsq=0.0)

    migration.fill(apps, None)

    assert DailyOutcome.objects.get().spend_sumsq == pytest.approx(100 + 400 + 1600)
    assert s.return_on_experience(audience=world.audience, filters=s.Filters()) == expected
