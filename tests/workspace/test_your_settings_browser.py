"""Your settings in a real browser, in Turkish and English, on a phone and a desktop: opened
from the user tools, a mistyped zone refused, a zone chosen and saved, and a case's due time
moving from the browser's zone (New York) to the chosen one (Istanbul). Screenshots go to
$SCREENSHOT_DIR as your-settings-<what>-<lang>-<device>.png."""

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from metrics.closedloop import response_rules
from metrics.models import Case
from tests.metrics.closed_loop_support import completed_response, contact_survey, detractor_rule
from tests.support.browser import DEVICES, LOCALES, VIEWS
from xmplatform.core.user_settings import user_time_zone_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DUE = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
EXPECTED = {
    "en": {
        "new_york": "7 Dec 2026, 05:00",
        "istanbul": "7 Dec 2026, 13:00",
        "wrong": "“Europe/Istanbull” is not a time zone we know.",
        "saved": "Dates and times are now shown in Europe/Istanbul.",
        "language": "English",
    },
    "tr": {
        "new_york": "7 Aralık 2026 05:00",
        "istanbul": "7 Aralık 2026 13:00",
        "wrong": "“Europe/Istanbull” bildiğimiz bir saat dilimi değil.",
        "saved": "Tarih ve saatler artık Europe/Istanbul saat diliminde gösteriliyor.",
        "language": "Türkçe",
    },
}


def _signed_in_page(chromium: Any, live_server: Any, user: Any, lang: str, device: str) -> Any:
    """A browser in New York, signed in as `user` (whose session starts from their choice)."""
    client = Client()
    client.force_login(user)
    context = chromium.new_context(
        locale=LOCALES[lang], timezone_id="America/New_York", **DEVICES[device]
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context.new_page()


def _look(page: Any, shots: Path, what: str, lang: str, device: str) -> None:
    """Saves the whole page; a phone never scrolls the page sideways."""
    page.screenshot(path=str(shots / f"your-settings-{what}-{lang}-{device}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= DEVICES[device]["viewport"]["width"], (what, lang, device, width)


def test_a_zone_chosen_on_your_settings_moves_the_times_in_each_language_and_device(
    chromium: Any, live_server: Any, shots: Path, xm_manager: Any
) -> None:
    from playwright.sync_api import expect

    survey = contact_survey()
    detractor_rule(survey, name="Call back detractors")
    response_rules.response_alerts_open(response_id=completed_response(survey, nps=3).pk)
    Case.objects.update(due_at=DUE)
    cases = f"{live_server.url}/admin/metrics/case/"

    for lang, device in VIEWS:
        expected = EXPECTED[lang]
        user_time_zone_set(user_id=xm_manager.pk, time_zone="")
        page = _signed_in_page(chromium, live_server, xm_manager, lang, device)
        # The first page's script names the browser's zone; from the next page on it applies.
        page.goto(f"{live_server.url}/admin/")
        page.goto(cases)
        expect(page.locator("#result_list")).to_contain_text(expected["new_york"])

        page.locator("#xm-your-settings-link").click()
        expect(page).to_have_url(re.compile(r"/admin/your-settings/$"))
        expect(page.locator("#xm-browser-zone")).to_contain_text("America/New_York")
        expect(page.locator("#xm-your-language")).to_contain_text(expected["language"])
        expect(page.locator("#id_follow_0")).to_be_checked()
        _look(page, shots, "browser", lang, device)

        # A mistyped zone: refused in the reader's language, what was typed kept.
        page.locator("#id_time_zone").fill("Europe/Istanbull")
        expect(page.locator("#id_follow_1")).to_be_checked()  # typing chose "This time zone"
        page.locator("#xm-your-settings-form button[type=submit]").click()
        expect(page.locator("#xm-zone-error")).to_contain_text(expected["wrong"])
        expect(page.locator("#id_time_zone")).to_have_value("Europe/Istanbull")
        _look(page, shots, "wrong", lang, device)

        page.locator("#id_time_zone").fill("Europe/Istanbul")
        page.locator("#xm-your-settings-form button[type=submit]").click()
        expect(page.locator(".messagelist")).to_contain_text(expected["saved"])
        expect(page.locator("#xm-now-zone")).to_have_text("(Europe/Istanbul)")
        expect(page.locator("#id_follow_1")).to_be_checked()
        _look(page, shots, "saved", lang, device)

        page.goto(cases)
        expect(page.locator("#result_list")).to_contain_text(expected["istanbul"])
        _look(page, shots, "cases", lang, device)

        if (lang, device) == ("en", "desktop"):
            page.emulate_media(color_scheme="dark")
            page.goto(f"{live_server.url}/admin/your-settings/")
            expect(page.locator("#xm-now-zone")).to_have_text("(Europe/Istanbul)")
            _look(page, shots, "dark", lang, device)
        page.context.close()
