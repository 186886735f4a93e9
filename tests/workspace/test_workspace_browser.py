"""The workspace in a real browser, in Turkish and English, at 390 px and 1440 px: the home of
a fresh install, the home with things to attend to, the menu on a phone, a list and the
dashboard inside the frame; once in dark mode. Screenshots go to $SCREENSHOT_DIR as
workspace-<what>-<lang>-<device>.png."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.workspace.support import busy_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1440, "height": 900}}
SETUP = {"tr": "İlk anketinizi kurun", "en": "Set up your first survey"}
ATTENTION = {"tr": "Dikkat gerektirenler", "en": "Needs attention"}
MENU = {"tr": "Menü", "en": "Menu"}


def sign_in(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )


def look(page: Any, shots: Path, name: str, lang: str, device: str) -> None:
    """Saves the whole page; a phone never scrolls the page sideways."""
    page.screenshot(path=str(shots / f"workspace-{name}-{lang}-{device}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[device]["width"], (name, lang, device, width)


def test_the_workspace_in_both_languages_on_a_phone_and_a_desktop(
    open_page: Any, live_server: Any, shots: Path, xm_manager: Any
) -> None:
    pages = {}
    for lang in ("tr", "en"):
        for device in ("phone", "desktop"):
            page = open_page(lang, device)
            page.set_viewport_size(SIZES[device])
            sign_in(page, live_server, xm_manager)
            pages[lang, device] = page

    # A fresh install: the checklist, nothing to attend to.
    for (lang, device), page in pages.items():
        page.goto(f"{live_server.url}/admin/")
        assert page.inner_text("#xm-setup-title").startswith(SETUP[lang])
        assert page.locator(".xm-step.xm-done").count() == 0
        assert page.locator("#xm-attention-none").is_visible()
        look(page, shots, "home-new", lang, device)

    busy_workspace(timezone.now())

    for (lang, device), page in pages.items():
        page.goto(f"{live_server.url}/admin/")
        assert page.locator(".xm-step.xm-done").count() == 4
        assert page.inner_text("#xm-attention-title") == ATTENTION[lang]
        assert page.locator("#xm-attention-overdue").is_visible()
        assert page.locator("#xm-attention-unknown").is_visible()
        assert page.locator(".xm-attention-suppressed").count() == 2
        assert page.locator(".xm-attention-score").count() == 1
        look(page, shots, "home", lang, device)
        nav = page.locator("#xm-nav")
        if device == "phone":
            assert not nav.is_visible()
            page.click("#xm-nav-toggle")
            assert nav.is_visible()
            assert page.get_attribute("#xm-nav-toggle", "aria-expanded") == "true"
            page.click("#xm-nav-surveys summary")
            look(page, shots, "menu", lang, device)
            page.click("#xm-nav-surveys a[href='/admin/surveys/survey/']")
        else:
            assert nav.is_visible()
            page.click("#xm-nav-surveys summary")
            page.click("#xm-nav-surveys a[href='/admin/surveys/survey/']")
        page.wait_for_url(f"{live_server.url}/admin/surveys/survey/")
        if device == "desktop":
            assert page.locator("#xm-nav-surveys a.xm-current").inner_text() in (
                "Anketler",
                "Surveys",
            )
        look(page, shots, "surveys", lang, device)
        # The breadcrumb's app page: its lists as cards, each with its "Add".
        page.goto(f"{live_server.url}/admin/surveys/")
        cards = page.locator("#xm-app-surveys .xm-list-card")
        assert cards.count() >= 4
        assert page.locator(".model-survey a.button").is_visible()
        look(page, shots, "app-index", lang, device)
        page.goto(f"{live_server.url}/admin/metrics/")
        look(page, shots, "dashboard", lang, device)

    # Dark mode, as the system asks (the admin's toggle is on "auto").
    page = pages["en", "desktop"]
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/admin/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 25, 34)", background
    look(page, shots, "home-dark", "en", "desktop")
    page.goto(f"{live_server.url}/admin/surveys/survey/")
    look(page, shots, "surveys-dark", "en", "desktop")
    page = pages["tr", "phone"]
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/admin/")
    look(page, shots, "home-dark", "tr", "phone")
