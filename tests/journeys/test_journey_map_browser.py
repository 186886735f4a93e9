"""The journey map in a real browser: stages side by side, scrolling sideways on a phone."""

import pytest

from journeys.models import Journey, Stage, Touchpoint
from tests.factories import make_audience

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def journey() -> Journey:
    journey = Journey.objects.create(audience=make_audience("customers"), name="Customer journey")
    for order, name in enumerate(["Awareness", "Trial", "Purchase", "Onboarding", "Support"], 1):
        stage = Stage.objects.create(journey=journey, name=name, order=order)
        Touchpoint.objects.create(
            stage=stage, slug=f"tp-{order}", name=f"{name} moment", channel="web"
        )
    return journey


def _open_map(page, live_server, journey) -> None:  # noqa: ANN001
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/journeys/journey/{journey.pk}/change/")


def test_stages_sit_left_to_right(desktop_page, live_server, xm_manager, journey, tmp_path):  # noqa: ANN001
    _open_map(desktop_page, live_server, journey)
    boxes = [s.bounding_box() for s in desktop_page.locator(".journey-map-stage").all()]
    desktop_page.screenshot(path=str(tmp_path / "journey-map-desktop.png"), full_page=True)

    assert len(boxes) == 5
    assert [b["y"] for b in boxes] == [boxes[0]["y"]] * 5
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
    assert desktop_page.locator(".journey-map-card-name").all_inner_texts() == [
        "Awareness moment",
        "Trial moment",
        "Purchase moment",
        "Onboarding moment",
        "Support moment",
    ]


def test_map_scrolls_sideways_on_a_phone(phone_page, live_server, xm_manager, journey, tmp_path):  # noqa: ANN001
    _open_map(phone_page, live_server, journey)
    phone_page.screenshot(path=str(tmp_path / "journey-map-phone.png"))

    overflow = phone_page.eval_on_selector(
        ".journey-map-stages",
        "el => [el.scrollWidth > el.clientWidth, getComputedStyle(el).overflowX]",
    )
    page_width = phone_page.evaluate("document.documentElement.scrollWidth")

    assert overflow == [True, "auto"]
    assert page_width <= 390
