"""A real browser logs into the admin and sees the cards, the trend chart and the heatmap."""

import datetime as dt

import pytest
from django.utils import timezone

from journeys.models import TouchpointEvent, TouchpointRole
from metrics.services import rollups_rebuild
from tests.factories import make_touchpoint
from tests.metrics.conftest import add_responses, build_world, make_people


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_shows_cards_trend_and_heatmap(
    desktop_page, live_server, django_user_model, tmp_path
) -> None:  # noqa: ANN001
    django_user_model.objects.create_superuser(
        username="xm", email="xm@example.com", password="correct-horse-battery"
    )
    world = build_world(
        touchpoints=(("checkout", "Purchase"), ("delivery", "Delivery"), ("support", "Support"))
    )
    today = timezone.now().date()
    people = make_people("shopper", 96)
    specs = []
    for week in range(12):
        day = today - dt.timedelta(days=7 * week)
        for j in range(8):
            specs.append(
                {
                    "nps": (week + j * 3) % 11,
                    "csat": 1 + (week + j) % 5,
                    "touchpoint": ["checkout", "delivery", "support"][j % 3],
                    "segment": ["gold", "basic"][j % 2],
                    "comment": f"Week {week}: answer {j}",
                    "day": day,
                    "person": people[week * 8 + j],
                }
            )
    add_responses(world, specs)
    shop = make_touchpoint(
        world.audience, slug="shop", stage_name="Purchase", role=TouchpointRole.PURCHASE
    )
    left = make_touchpoint(
        world.audience, slug="left", stage_name="Exit", role=TouchpointRole.CHURNED
    )
    later = timezone.now()
    TouchpointEvent.objects.bulk_create(
        [
            TouchpointEvent(
                person=spec["person"],
                touchpoint=shop if spec["nps"] >= 7 or k % 3 == 0 else left,
                occurred_at=later,
                attributes={"value": 20 + spec["nps"] * 5}
                if spec["nps"] >= 7 or k % 3 == 0
                else {},
            )
            for k, spec in enumerate(specs)
        ]
    )
    rollups_rebuild(date_from=today - dt.timedelta(days=120), date_to=today)
    page = desktop_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/metrics/")
    page.fill("#id_username", "xm")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_selector(".xm-card")
    assert page.locator("a.xm-card").count() == 1
    assert page.locator("svg.xm-spark polyline").count() == 1
    index_shot = tmp_path / "metrics-index.png"
    page.screenshot(path=str(index_shot), full_page=True)
    page.click("a.xm-card")
    page.wait_for_selector("#xm-trend")
    assert page.locator("#xm-trend polyline").count() == 1
    assert page.locator("#xm-distribution rect").count() == 3
    assert page.locator("#xm-heatmap td:not(.xm-stage-total)").count() == 5
    assert page.locator("#xm-rox td").count() == 20
    assert page.locator("#xm-rox").count() == 1
    shot = tmp_path / "metrics-audience.png"
    page.screenshot(path=str(shot), full_page=True)
    assert index_shot.stat().st_size > 10_000
    assert shot.stat().st_size > 10_000
