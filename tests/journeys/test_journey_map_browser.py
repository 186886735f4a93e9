"""The journey map in a real browser: stages side by side, scores on the cards and the emotion
curve, scrolling sideways inside its box (never the page), in Turkish and English, on a phone
(360 px) and a desktop (1280 px). Screenshots go to $SCREENSHOT_DIR (else a temporary folder)
as journey-map-<lang>-<device>.png."""

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from journeys.models import Journey, Stage, Touchpoint
from tests.factories import make_audience
from tests.support.browser import VIEWS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOT_ENOUGH = {"tr": "yeterli yanıt yok", "en": "not enough responses"}
NO_ANSWERS = {"tr": "yanıt yok", "en": "no answers"}
STAGES = ["Awareness", "Trial", "Purchase", "Onboarding", "Support", "Renewal"]


@pytest.fixture
def journey() -> Journey:
    journey = Journey.objects.create(audience=make_audience("customers"), name="Customer journey")
    for order, name in enumerate(STAGES[:5], 1):
        stage = Stage.objects.create(journey=journey, name=name, order=order)
        Touchpoint.objects.create(
            stage=stage, slug=f"tp-{order}", name=f"{name} moment", channel="web"
        )
    return journey


@pytest.fixture
def scored_journey() -> Journey:
    """Six stages: NPS answers on five touchpoints, from poor to good, one stage unanswered."""
    from tests.metrics.conftest import add_responses, build_world

    world = build_world(
        "buyers",
        touchpoints=tuple((f"s{i}", name) for i, name in enumerate(STAGES, 1)),
    )
    Touchpoint.objects.filter(slug="buyers-s3").update(role="purchase")
    Touchpoint.objects.filter(slug="buyers-s5").update(role="support_request")
    day = timezone.localdate() - dt.timedelta(days=2)
    answers = {
        "s1": [9, 10, 8, 7, 9, 10, 6, 9],
        "s2": [7, 8, 6, 9, 5, 8],
        "s3": [10, 9, 9, 10, 8, 9, 10, 7, 9],
        "s5": [2, 4, 6, 3, 8, 5, 1],
        "s6": [9, 8, 10, 7, 9, 6],
    }
    add_responses(
        world,
        [
            {"nps": v, "csat": 3 + v % 3, "touchpoint": tp, "day": day}
            for tp, values in answers.items()
            for v in values
        ],
    )
    return Journey.objects.get(audience=world.audience)


def _log_in(page: Any, live_server: Any) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")


def test_stages_sit_left_to_right(open_page, live_server, xm_manager, journey) -> None:  # noqa: ANN001
    page = open_page("en", "desktop")
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/journeys/journey/{journey.pk}/change/")
    boxes = [s.bounding_box() for s in page.locator(".journey-map-stage").all()]

    assert len(boxes) == 5
    assert [b["y"] for b in boxes] == [boxes[0]["y"]] * 5
    assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes)
    assert page.locator(".journey-map-card-name").all_inner_texts() == [
        f"{name} moment" for name in STAGES[:5]
    ]


def test_the_map_shows_scores_and_scrolls_in_its_box(
    open_page,  # noqa: ANN001
    live_server,  # noqa: ANN001
    shots: Path,
    xm_manager,  # noqa: ANN001
    scored_journey: Journey,
) -> None:
    for lang, device in VIEWS:
        _map_in_view(open_page(lang, device), live_server, shots, scored_journey, lang, device)


def _map_in_view(
    page: Any, live_server: Any, shots: Path, scored_journey: Journey, lang: str, device: str
) -> None:
    _log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/journeys/journey/{scored_journey.pk}/change/")

    assert page.locator("html").get_attribute("lang") == lang
    cards = page.locator(".journey-map-card")
    assert cards.count() == 6
    assert page.locator(".journey-map-card .journey-map-score").count() == 5
    assert NO_ANSWERS[lang] in cards.nth(3).inner_text()
    assert page.locator("circle.journey-map-dot").count() == 5
    assert page.locator(".journey-map-stage-score .journey-map-score").count() == 5
    # The role badge reads as words in the page's language, not as a slug.
    assert "support_request" not in page.locator(".journey-map-role").all_inner_texts()
    # The curve's points sit over their stage columns.
    dot = page.locator("circle.journey-map-dot").first.bounding_box()
    stage = page.locator(".journey-map-stage").first.bounding_box()
    assert abs((dot["x"] + dot["width"] / 2) - (stage["x"] + stage["width"] / 2)) < 2

    scroll = page.eval_on_selector(
        ".journey-map-scroll",
        "el => [el.scrollWidth > el.clientWidth, getComputedStyle(el).overflowX]",
    )
    assert scroll == [True, "auto"]
    assert page.locator(".journey-map-cue").is_visible()
    page.locator(".journey-map").screenshot(path=str(shots / f"journey-map-{lang}-{device}.png"))
    page.screenshot(path=str(shots / f"journey-page-{lang}-{device}.png"), full_page=True)
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # The metric picker switches the map to CSAT, the map scrolled to its end.
    page.locator(".journey-map-chip", has_text="CSAT").click()
    page.wait_for_load_state()
    assert page.locator(".journey-map-chip.is-on").first.inner_text() == "CSAT"
    assert "%" in page.locator(".journey-map-card .journey-map-score").first.inner_text()
    page.eval_on_selector(".journey-map-scroll", "el => el.scrollLeft = el.scrollWidth")
    page.locator(".journey-map").screenshot(
        path=str(shots / f"journey-map-csat-end-{lang}-{device}.png")
    )
