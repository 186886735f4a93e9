"""The EX ↔ CX page in a real browser, in Turkish and English, on a phone (360 px) and a
desktop (1280 px): the units table, the scatter plot and the correlation with its caveat.
Screenshots go to $SCREENSHOT_DIR (else a temporary folder) as ex-cx-<lang>-<device>.png."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from tests.metrics.ex_cx_support import answer, pair
from tests.support.browser import VIEWS

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

NOT_ENOUGH = {"tr": "yeterli yanıt yok", "en": "not enough responses"}
# Per store: employee eNPS answers, customer NPS answers, customer CSAT answers; happier staff,
# happier customers, roughly. "Sinop" has customers only.
STORES = {
    "Ankara Çankaya": ([10, 9, 9, 8, 9, 10, 7], [9, 10, 9, 8, 10, 6, 9, 9], [5, 4, 5, 4, 3]),
    "Bursa Nilüfer": ([6, 5, 8, 7, 4, 9], [6, 7, 9, 5, 8, 4, 7], [3, 2, 4, 3, 4]),
    "İzmir Alsancak": ([9, 9, 10, 8, 9, 10], [10, 9, 9, 7, 9, 10, 8], [5, 5, 4, 4]),
    "Konya Selçuklu": ([3, 5, 6, 7, 4, 2], [3, 6, 5, 7, 2, 6, 8], [2, 1, 3, 2]),
    "Samsun Atakum": ([8, 7, 9, 6, 8], [8, 7, 9, 6, 9, 7], [4, 3, 4]),
    "Sinop": ([], [9, 9, 10], [4, 5]),
}


@pytest.fixture
def stores() -> None:
    worlds = pair()
    day = timezone.localdate() - dt.timedelta(days=4)
    for i, (store, (staff, nps, csat)) in enumerate(STORES.items()):
        attributes = {"store": store}
        if staff:
            answer(worlds.staff, f"e{i}", staff, key="nps", attributes=attributes, day=day)
        answer(worlds.clients, f"c{i}", nps, key="nps", attributes=attributes, day=day)
        answer(worlds.clients, f"s{i}", csat, key="csat", attributes=attributes, day=day)


def test_the_ex_cx_page(open_page, live_server, shots: Path, xm_manager, stores: None) -> None:  # noqa: ANN001
    for lang, device in VIEWS:
        _look(open_page, live_server, shots, lang, device)


def _look(open_page, live_server, shots: Path, lang: str, device: str) -> None:  # noqa: ANN001
    page = open_page(lang, device)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", "correct-horse-battery")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.goto(f"{live_server.url}/admin/metrics/ex-cx/")

    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("select[name=unit]").input_value() == "store"
    rows = page.locator(".xm-excx-row")
    assert rows.count() == 6
    assert page.locator("circle.xm-dot").count() == 5
    assert page.locator("#xm-excx-r").inner_text().startswith("r = ")
    assert page.locator("#xm-excx-caveat").is_visible()
    page.screenshot(path=str(shots / f"ex-cx-{lang}-{device}.png"), full_page=True)
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        box = page.locator(".xm-excx-plot").bounding_box()
        assert box["width"] <= 340

    # The segment as unit: nobody shares one here, so the page says there is nothing.
    page.select_option("select[name=unit]", "segment")
    page.locator("#xm-excx-filters button").click()
    page.wait_for_load_state()
    assert page.locator("#xm-excx-empty").is_visible()
    assert page.locator("#xm-excx-no-r").is_visible()
