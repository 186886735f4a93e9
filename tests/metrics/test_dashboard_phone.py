"""On a phone (390 px) the dashboard pages fit the screen: the trend scales down, the journey
heatmap scrolls inside its own box with a visible cue, and nothing widens the page."""

import datetime as dt

import pytest
from django.utils import timezone

from metrics.services import rollups_rebuild
from tests.factories import make_touchpoint
from tests.metrics.conftest import add_responses, build_world

PAGE_WIDTH = "document.documentElement.scrollWidth"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_dashboard_pages_fit_a_phone(phone_page, live_server, django_user_model) -> None:  # noqa: ANN001
    django_user_model.objects.create_superuser(
        username="xm", email="xm@example.com", password="correct-horse-battery"
    )
    world = build_world(touchpoints=(("checkout", "Purchase"), ("delivery", "Purchase")))
    for k in range(4):  # six touchpoints in one stage: a heatmap row wider than a phone
        tp = make_touchpoint(world.audience, slug=f"tp-{k}", stage_name="Purchase")
        world.touchpoints[f"tp-{k}"] = tp
    today = timezone.now().date()
    add_responses(
        world,
        [
            {"nps": (week + j) % 11, "touchpoint": tp, "day": today - dt.timedelta(days=7 * week)}
            for week in range(12)
            for j, tp in enumerate(world.touchpoints)
        ],
    )
    rollups_rebuild(date_from=today - dt.timedelta(days=120), date_to=today)
    page = phone_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/metrics/")
    page.fill("#id_username", "xm")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_selector(".xm-card")
    assert page.evaluate(PAGE_WIDTH) <= 390

    page.goto(f"{live_server.url}/admin/metrics/customers/")
    page.wait_for_selector("#xm-trend")

    assert page.evaluate(PAGE_WIDTH) <= 390
    trend = page.locator("#xm-trend").bounding_box()
    assert trend["x"] >= 0 and trend["x"] + trend["width"] <= 390
    assert trend["height"] < 240  # scaled down with its width, not a fixed 240 px box
    scroller = page.locator("#xm-heatmap-scroll")
    widths = scroller.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] > widths[1]  # the heatmap is wider than the phone and scrolls in its box
    assert page.locator(".xm-scroll-cue").is_visible()
    shade = scroller.evaluate("e => getComputedStyle(e.parentElement, '::after').backgroundImage")
    assert shade.startswith("linear-gradient")
