"""The Return on Experience block of the demo's customers page in a real browser, in Turkish
and English, on a phone and a desktop: margins, the promoters-against-detractors verdict and
the currency, and no sideways scroll on a phone. Screenshots go to $SCREENSHOT_DIR as
rox-<lang>-<device>.png (the block) and rox-page-<lang>-<device>.png (the whole page)."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests.support.browser import DEVICES, LOCALES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
TITLE = {"tr": "Deneyimin Getirisi (RoX)", "en": "Return on Experience"}
SPEND = {"tr": "Yanıttan sonraki ortalama harcama (TRY)", "en": "Mean spend after answering (TRY)"}
BEYOND = {"tr": "hata payının ötesinde", "en": "beyond the margin of error"}


def test_the_demo_customers_rox_block_reads_on_a_phone_and_a_desktop_in_both_languages(
    chromium: Any, live_server: Any, shots: Path
) -> None:
    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    get_user_model().objects.create_superuser(
        username="xm.manager", email="xm@example.com", password=PASSWORD
    )
    for lang in ("tr", "en"):
        for device in ("phone", "desktop"):
            context = chromium.new_context(locale=LOCALES[lang], **DEVICES[device])
            page = context.new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "xm.manager")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/admin/")
            page.goto(live_server.url + reverse("metrics:audience", args=["customers"]))

            block = page.locator("#xm-rox")
            assert page.locator("html").get_attribute("lang") == lang
            assert block.locator("h2").inner_text() == TITLE[lang]
            # 4 columns × 5 rows, every shown figure with its margin; the currency by spend.
            assert block.locator("tbody td").count() == 20
            assert block.locator("table .xm-rox-margin").count() == 16
            spend = block.locator("#xm-rox-spend th" if device == "desktop" else "dt").last
            assert spend.inner_text() == SPEND[lang]
            # A phone reads one card per column instead of a table too wide for it.
            assert block.locator("table").is_visible() == (device == "desktop")
            assert block.locator(".xm-rox-card").first.is_visible() == (device == "phone")
            verdicts = block.locator("#xm-rox-difference li")
            assert verdicts.count() == 3
            assert BEYOND[lang] in verdicts.first.inner_text()
            block.scroll_into_view_if_needed()
            block.screenshot(path=str(shots / f"rox-{lang}-{device}.png"))
            page.screenshot(path=str(shots / f"rox-page-{lang}-{device}.png"), full_page=True)
            if device == "desktop":
                table = block.locator(".xm-scroll")
                assert table.evaluate("e => e.scrollWidth <= e.clientWidth"), lang
            else:
                assert page.evaluate("document.documentElement.scrollWidth") <= 360
                assert block.bounding_box()["width"] <= 360
            context.close()
