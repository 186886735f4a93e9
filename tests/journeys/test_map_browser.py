"""The journey map in a real browser at the narrowest and widest sizes the admin is used at
(390 and 1440 px), in Turkish and English: nothing sticks out of the page, the map either fits
or scrolls inside its box with a visible cue, roles read as words, and stages are reordered by
dragging (desktop) and by their → button from the keyboard (phone), the new order shown again
after a reload. Screenshots go to $SCREENSHOT_DIR as journey-map-fit-<lang>-<width>.png."""

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from journeys.models import Journey, Stage, Touchpoint
from tests.support.browser import LOCALES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STAGES = ["Awareness", "Trial", "Purchase", "Onboarding", "Support", "Renewal"]
WIDTHS = {
    390: {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    1440: {"viewport": {"width": 1440, "height": 900}},
}
SAVED = {"tr": "Aşama sırası kaydedildi.", "en": "Stage order saved."}

# Elements of the page's content sticking out of the page's width, other than inside a box that
# scrolls or clips them (the map's scroll region, a wide table's wrapper); wholly hidden ones
# off to a side (a skip link) do not count. (The header is the workspace theme's.)
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const x = getComputedStyle(up).overflowX;
      if (x !== "visible") return up;
    }
    return null;
  };
  const found = [];
  for (const el of document.querySelectorAll("#content *")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= 0 || box.left >= width) continue;
    if (box.right <= width + 1 && box.left >= -1) continue;
    const holder = clipped(el);
    const inMap = el.closest(".journey-map");
    if (inMap ? el.closest(".journey-map-scroll") : holder) continue;
    const where = `${Math.round(box.left)}…${Math.round(box.right)}`;
    found.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} ${where}`);
  }
  return found;
}"""


@pytest.fixture
def journey() -> Journey:
    """Six stages, NPS answered on five of them; roles on two touchpoints."""
    from tests.metrics.conftest import add_responses, build_world

    world = build_world(
        "buyers", touchpoints=tuple((f"s{i}", name) for i, name in enumerate(STAGES, 1))
    )
    Touchpoint.objects.filter(slug="buyers-s3").update(role="purchase")
    Touchpoint.objects.filter(slug="buyers-s5").update(role="support_request")
    day = timezone.localdate() - dt.timedelta(days=2)
    answers = {"s1": [9, 10, 8], "s2": [7, 8, 6], "s3": [10, 9, 9], "s5": [2, 4, 6], "s6": [9]}
    add_responses(
        world,
        [
            {"nps": v, "touchpoint": tp, "day": day}
            for tp, values in answers.items()
            for v in values
        ],
    )
    journey = Journey.objects.get(audience=world.audience)
    for order, name in enumerate(STAGES, 1):
        Stage.objects.filter(journey=journey, name=name).update(order=order)
    return journey


def _order(journey: Journey) -> list[str]:
    return list(journey.stages.order_by("order", "id").values_list("name", flat=True))


def _shown(page: Any) -> list[str]:
    return page.locator(".journey-map-stage-name").all_inner_texts()


def test_the_map_fits_or_scrolls_with_a_cue_and_stages_reorder(
    chromium,  # noqa: ANN001
    live_server,  # noqa: ANN001
    shots: Path,
    xm_manager,  # noqa: ANN001
    journey: Journey,
) -> None:
    url = f"{live_server.url}/admin/journeys/journey/{journey.pk}/change/"
    for lang in ("tr", "en"):
        for width, device in WIDTHS.items():
            context = chromium.new_context(locale=LOCALES[lang], **device)
            page = context.new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "xm.manager")
            page.fill("#id_password", "correct-horse-battery")
            page.click("[type=submit]")
            page.goto(url)
            name = f"{lang}-{width}"
            page.locator(".journey-map").screenshot(path=str(shots / f"journey-map-fit-{name}.png"))
            page.screenshot(path=str(shots / f"journey-page-fit-{name}.png"), full_page=True)

            assert page.locator("html").get_attribute("lang") == lang, name
            assert page.evaluate(OVERFLOWING) == [], name
            # In page coordinates (a phone's visual viewport may be panned).
            left, right = page.eval_on_selector(
                ".journey-map-scroll",
                "el => [el.getBoundingClientRect().left + scrollX,"
                " el.getBoundingClientRect().right + scrollX]",
            )
            assert 0 <= left and right <= width, (name, left, right)
            scrolls = page.eval_on_selector(
                ".journey-map-scroll", "el => el.scrollWidth > el.clientWidth"
            )
            # Six stages are wider than a phone and than the desktop's content box: a cue.
            assert scrolls, name
            assert page.locator(".journey-map-cue").is_visible(), name
            assert "has-more-right" in page.locator(".journey-map").get_attribute("class"), name
            roles = page.locator(".journey-map-role").all_inner_texts()
            assert len(roles) == 2 and not any("_" in r for r in roles), (name, roles)
            links = page.locator(".journey-map-card").first.locator(".journey-map-link")
            assert links.count() == 3, name

            # Scrolled to its end, the left edge fades instead and the right one no longer.
            page.eval_on_selector(".journey-map-scroll", "el => el.scrollLeft = el.scrollWidth")
            expect(page.locator(".journey-map")).to_have_class(re.compile("has-more-left"))
            assert "has-more-right" not in page.locator(".journey-map").get_attribute("class")
            page.locator(".journey-map").screenshot(
                path=str(shots / f"journey-map-fit-end-{name}.png")
            )
            page.eval_on_selector(".journey-map-scroll", "el => el.scrollLeft = 0")

            before = _order(journey)
            stages = page.locator(".journey-map-stage")
            if width == 1440:
                # Drag the second stage onto the first one's left half: it goes first.
                expected = [before[1], before[0], *before[2:]]
                with page.expect_navigation():  # saved, the curve is drawn again
                    stages.nth(1).locator(".journey-map-stage-head").drag_to(
                        stages.nth(0).locator(".journey-map-stage-head"),
                        target_position={"x": 10, "y": 10},
                    )
            else:
                # From the keyboard: the first stage's → button moves it one place later.
                expected = [before[1], before[0], *before[2:]]
                stages.nth(0).locator("[data-direction=right]").focus()
                with page.expect_navigation():
                    page.keyboard.press("Enter")
            assert _order(journey) == expected, name
            page.goto(url)
            assert _shown(page) == expected, name
            steps = page.locator(".journey-map-step").all_inner_texts()
            assert steps == [str(i) for i in range(1, 7)], name
            context.close()
