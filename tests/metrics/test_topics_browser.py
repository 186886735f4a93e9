"""The topics page in a real browser, in Turkish and English, on a phone and a desktop: the
topics table with sparklines, the sentiment model and a search. Saved as
topics-<lang>-<device>.png under $SCREENSHOT_DIR for a person to look at."""

import datetime as dt

import pytest

from metrics.comments import processing
from tests.metrics.comments_support import (
    EN_DELIVERY,
    EN_PRICE,
    TR_DELIVERY,
    TR_PRICE,
    theme_specs,
    tone_specs,
)
from tests.metrics.conftest import TODAY, add_responses, build_world
from tests.support.browser import DEVICES, LOCALES, VIEWS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
PASSWORD = "correct-horse-battery"
HEADINGS = {"tr": "Konular", "en": "Topics"}
SEARCH = {"tr": "Yorumlarda ara", "en": "Search comments"}


def _shop() -> None:
    """Three months of comments on delivery and price in Turkish and English, more each month,
    and praise or complaints whose tone matches the score (enough for four topics)."""
    world = build_world()
    specs = []
    for months_ago in range(3):
        day = TODAY - dt.timedelta(days=30 * months_ago)
        tr = theme_specs(
            60 + months_ago, {"d": TR_DELIVERY, "p": TR_PRICE}, 25 - 5 * months_ago, "tr", day=day
        )
        en = theme_specs(70 + months_ago, {"d": EN_DELIVERY, "p": EN_PRICE}, 20, "en", day=day)
        specs += tr + en
    specs += tone_specs(80, 40, "tr") + tone_specs(81, 40, "en")
    add_responses(world, specs)
    processing.comments_process()


def test_the_topics_page(chromium, live_server, shots, xm_manager) -> None:  # noqa: ANN001
    _shop()
    for lang, device in VIEWS:
        _look(chromium, live_server, shots, lang, device)


def _look(chromium, live_server, shots, lang: str, device: str) -> None:  # noqa: ANN001
    context = chromium.new_context(locale=LOCALES[lang], **DEVICES[device])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "xm.manager")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        page.goto(f"{live_server.url}/admin/metrics/customers/topics/?q=teslimat")
        assert page.locator("#xm-topics-figure h2").inner_text().startswith(HEADINGS[lang])
        assert page.locator("#xm-search h2").inner_text() == SEARCH[lang]
        assert page.locator("#xm-topics tbody tr").count() >= 2
        assert page.locator(".xm-spark").count() >= 2
        assert page.locator("#xm-found li").count() >= 1
        page.screenshot(path=str(shots / f"topics-{lang}-{device}.png"), full_page=True)
        page.screenshot(path=str(shots / f"topics-{lang}-{device}-top.png"))
        if device == "phone":
            assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
