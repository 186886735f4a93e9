"""The key-drivers page in a real browser, in Turkish and English, on a phone and a desktop:
the matrix and the ranked table are drawn, translated, and a phone never scrolls sideways.
Screenshots: drivers-<lang>-<phone|desktop>.png under $SCREENSHOT_DIR."""

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from metrics.drivers import tasks
from tests.metrics.drivers_support import (
    NOON,
    add_events,
    add_rows,
    drivers_world,
    known_rows,
    make_people,
)
from tests.support.browser import VIEWS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PASSWORD = "correct-horse-battery"
HEADING = {"tr": "Önem sırasına göre etkenler", "en": "Drivers ranked by importance"}
FIX_FIRST = {"tr": "Önce düzelt", "en": "Fix first"}
LABEL = {"tr": "Ödemeden memnun musunuz?", "en": "Satisfied with checkout?"}


@pytest.fixture
def shop() -> Any:
    world = drivers_world()
    people = make_people("shopper", 300)
    rows = known_rows(300)
    for row, person in zip(rows, people, strict=True):
        row["person"] = person
    add_rows(world, rows)
    add_events(world.touchpoints["delivery"], people[:120], NOON - dt.timedelta(days=2))
    add_events(world.touchpoints["support"], people[200:260], NOON - dt.timedelta(days=6))
    tasks.compute_task(world.survey.pk, "nps", {"from": None, "to": None, "segment": None})
    return world


def test_drivers_page_in_a_browser(
    open_page: Any, live_server: Any, shots: Path, xm_manager: Any, shop: Any
) -> None:
    for lang, device in VIEWS:
        _look(open_page, live_server, shots, shop, lang, device)


def _look(open_page: Any, live_server: Any, shots: Path, shop: Any, lang: str, device: str) -> None:
    page = open_page(lang, device)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(
        f"{live_server.url}/admin/metrics/{shop.audience.slug}/drivers/?survey={shop.survey.pk}"
    )
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("#xm-drivers-table-figure h2").inner_text() == HEADING[lang]
    assert page.locator("#xm-drivers-matrix .xm-point").count() >= 5
    assert FIX_FIRST[lang] in page.locator("#xm-drivers-matrix").inner_html()
    assert LABEL[lang] in page.locator("#xm-drivers-table").inner_text()
    # charts.js adds the CSV and PNG buttons to both figures.
    page.wait_for_selector("#xm-drivers-matrix-figure .xm-chart-tools")
    page.screenshot(path=str(shots / f"drivers-{lang}-{device}.png"), full_page=True)
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
