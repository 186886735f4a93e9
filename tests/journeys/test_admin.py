"""The journeys admin: the journey page draws the map; the other lists render."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from journeys.models import Journey, Stage, Touchpoint, TouchpointEvent
from journeys.selectors import journey_map
from tests.factories import make_audience, make_person


@pytest.fixture
def admin_client(client, xm_manager):  # noqa: ANN001, ANN201
    client.force_login(xm_manager)
    return client


@pytest.fixture
def journey(db) -> Journey:  # noqa: ANN001
    journey = Journey.objects.create(audience=make_audience("customers"), name="Customer journey")
    # Created out of order on purpose: the map follows `order`, not creation.
    support = Stage.objects.create(journey=journey, name="Support", order=3)
    awareness = Stage.objects.create(journey=journey, name="Awareness", order=1)
    purchase = Stage.objects.create(journey=journey, name="Purchase", order=2)
    Touchpoint.objects.create(stage=awareness, slug="ad", name="Ad clicked", channel="social")
    Touchpoint.objects.create(
        stage=purchase,
        slug="store",
        name="Store purchase",
        channel="store",
        role="purchase",
        order=2,
    )
    Touchpoint.objects.create(
        stage=purchase,
        slug="checkout",
        name="Online checkout",
        channel="web",
        role="purchase",
        order=1,
    )
    Touchpoint.objects.create(
        stage=support,
        slug="call",
        name="Support call closed",
        channel="phone",
        role="support_request",
    )
    return journey


@pytest.mark.django_db
def test_journey_map_counts_last_30_days_in_three_queries(journey, django_assert_num_queries):  # noqa: ANN001
    now = timezone.now()
    person = make_person("p-1")
    checkout = Touchpoint.objects.get(slug="checkout")
    for days in (1, 29, 31):
        TouchpointEvent.objects.create(
            person=person, touchpoint=checkout, occurred_at=now - dt.timedelta(days=days)
        )
    # 1 stages, 2 their touchpoints (prefetch), 3 grouped event count
    with django_assert_num_queries(3):
        stages = journey_map(journey=journey, now=now)

    assert [
        (s.stage.name, [(t.touchpoint.slug, t.recent_events) for t in s.touchpoints])
        for s in stages
    ] == [
        ("Awareness", [("ad", 0)]),
        ("Purchase", [("checkout", 2), ("store", 0)]),
        ("Support", [("call", 0)]),
    ]


@pytest.mark.django_db
def test_journey_page_shows_stages_in_order_with_touchpoints(admin_client, journey):  # noqa: ANN001
    response = admin_client.get(reverse("admin:journeys_journey_change", args=[journey.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    map_html = html[html.index('class="module journey-map"') : html.index("</section>")]
    titles = re.findall(r'journey-map-stage-name">([^<]+)</span>', map_html)
    assert titles == ["Awareness", "Purchase", "Support"]
    cards = re.findall(r'class="journey-map-card-name"[^>]*>([^<]+)</a>', map_html)
    assert cards == ["Ad clicked", "Online checkout", "Store purchase", "Support call closed"]
    assert "journeys/journey_map.css" in html
    # The editable stage inline comes after the map.
    assert html.index("journey-map") < html.index('id="stages-group"')


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["journey", "stage", "touchpoint", "touchpointevent"])
def test_journey_lists_render(admin_client, journey, name):  # noqa: ANN001
    TouchpointEvent.objects.create(
        person=make_person("p-1"),
        touchpoint=Touchpoint.objects.get(slug="ad"),
        occurred_at=timezone.now(),
    )
    response = admin_client.get(reverse(f"admin:journeys_{name}_changelist"))
    assert response.status_code == 200


@pytest.mark.django_db
def test_stage_page_lists_touchpoints_in_order(admin_client, journey):  # noqa: ANN001
    stage = Stage.objects.get(name="Purchase")
    response = admin_client.get(reverse("admin:journeys_stage_change", args=[stage.pk]))

    html = response.content.decode()
    assert html.index('value="Online checkout"') < html.index('value="Store purchase"')
