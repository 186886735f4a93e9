"""The intercept in a real Chromium: a shop page on another site (127.0.0.1, while the platform
is localhost) shows the survey in a frame and the visitor answers in it, anonymous or signed
in, as a window or a sliding panel, by keyboard too; the same page on another port, an origin the
site does not allow, gets no survey and cannot frame one."""

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from surveys.intercept.models import DisplayMode
from surveys.intercept.services import anonymous_ticket, signature_for
from surveys.models import Invitation, Response
from tests.intercept.support import make_site, member, nps_survey
from tests.support.browser import VIEWS
from tests.support.servers import POLL_SECONDS

WORDS = {
    "tr": {"title": "Ziyaretiniz", "submit": "Gönder", "thanks": "Çok teşekkürler!"},
    "en": {"title": "Your visit", "submit": "Submit", "thanks": "Thanks a lot!"},
}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Path, list[int]]]:
    """A folder served on two ports of 127.0.0.1 by plain http.servers: two origins, the
    shop's own and another one."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True).start()
    yield tmp_path, [server.server_address[1] for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def shop_page(folder: Path, name: str, platform: str, site: Any, lang: str, user: str = "") -> str:
    signed = ""
    if user:
        signature = signature_for(secret=site.secret, external_id=user)
        signed = f' data-user="{user}" data-signature="{signature}"'
    (folder / name).write_text(
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Shop</title></head><body><h1>Demo shop</h1>"
        '<p><button id="buy" type="button">Buy</button></p>'
        f'<script src="{platform}/intercept.js" data-site="{site.public_key}"{signed} '
        'data-snooze-days="0" async></script></body></html>',
        encoding="utf-8",
    )
    return name


IN_DIALOG = "() => !!document.activeElement.closest('[role=dialog]')"


def dialog_focus(page: Any) -> str:
    return page.evaluate(
        "() => { const a = document.activeElement;"
        " return (a.closest('[role=dialog]') ? 'dialog:' : '') + (a.id || a.tagName); }"
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_shop_page_shows_the_survey_in_a_frame_and_another_origin_cannot(
    live_server, open_page, shop, shots
):
    folder, ports = shop
    allowed, refused = (f"http://127.0.0.1:{port}" for port in ports)
    survey = nps_survey()
    sites = {
        DisplayMode.MODAL: make_site(survey, allowed_origins=[allowed]),
        DisplayMode.SLIDE_IN: make_site(
            survey, name="App", allowed_origins=[allowed], display=DisplayMode.SLIDE_IN
        ),
    }
    for n in range(len(VIEWS)):
        member(survey, f"c-{n}")

    for n, (lang, device) in enumerate(VIEWS):
        words = WORDS[lang]
        display = DisplayMode.SLIDE_IN if device == "phone" else DisplayMode.MODAL
        user = f"c-{n}" if n % 2 else ""  # signed in, or anonymous
        name = shop_page(folder, f"shop-{n}.html", live_server.url, sites[display], lang, user)
        page = open_page(lang, device)
        page.goto(f"{allowed}/{name}")
        dialog = page.locator("[role=dialog]")
        dialog.wait_for(timeout=10_000)
        page.wait_for_function(IN_DIALOG)  # the script moves focus in once the panel is there
        assert dialog_focus(page) == "dialog:BUTTON"  # the close button
        frame = page.frame_locator("[role=dialog] iframe")
        frame.locator("h1.brand").wait_for(timeout=10_000)
        assert frame.locator("h1.brand").inner_text() == words["title"]
        page.wait_for_timeout(300)  # the panel's slide
        page.screenshot(path=shots / f"h3-intercept-{lang}-{device}.png")

        if (lang, device) == ("en", "desktop"):
            # Escape on the page closes it and focus goes back where it was; Escape inside
            # the survey does too (the framed page tells the shop's page).
            page.keyboard.press("Escape")
            dialog.wait_for(state="detached")
            page.focus("#buy")
            page.evaluate("window.xmIntercept.ask()")
            dialog.wait_for()
            page.wait_for_function(IN_DIALOG)
            page.keyboard.press("Tab")  # into the survey, never out of the window
            page.keyboard.press("Shift+Tab")
            assert dialog_focus(page).startswith("dialog:")
            frame.locator("input[type=radio]").first.focus()
            # Key down only while the frame is there: the frame goes on that key, and a key-up
            # sent to a frame already gone would never be answered.
            page.keyboard.down("Escape")
            dialog.wait_for(state="detached")
            page.keyboard.up("Escape")
            page.wait_for_function("() => document.activeElement.id === 'buy'")
            assert dialog_focus(page) == "buy"
            page.evaluate("window.xmIntercept.ask()")
            dialog.wait_for()

        frame.locator("label[for$='-9']").click()
        frame.get_by_role("button", name=words["submit"]).click()
        frame.get_by_text(words["thanks"]).wait_for(timeout=10_000)
        page.screenshot(path=shots / f"h3-intercept-{lang}-{device}-thanks.png")

    assert Response.objects.filter(survey=survey, completed_on__isnull=False).count() == 4
    assert Invitation.objects.filter(survey=survey, responded_at__isnull=False).count() == 2

    # Another origin: the decide call is refused (403, unreadable to the page), no survey
    # shows, and a frame of the survey page is blocked by its frame-ancestors.
    site = sites[DisplayMode.MODAL]
    name = shop_page(folder, "elsewhere.html", live_server.url, site, "en")
    page = open_page("en", "desktop")
    seen: list[str] = []
    page.on("response", lambda r: seen.append(f"{r.status}") if "/decide" in r.url else None)
    page.on("requestfailed", lambda r: seen.append("failed") if "/decide" in r.url else None)
    page.goto(f"{refused}/{name}")
    page.wait_for_function("() => window.xmIntercept !== undefined")
    page.wait_for_timeout(700)
    assert seen in (["403"], ["failed"], ["403", "failed"]), seen
    assert page.locator("[role=dialog]").count() == 0
    url = f"{live_server.url}/intercept/{site.public_key}/s/{anonymous_ticket(site=site)}/"
    page.evaluate(
        "url => { const f = document.createElement('iframe'); f.src = url;"
        " f.style.width = '600px'; f.style.height = '400px'; document.body.appendChild(f); }",
        url,
    )
    page.wait_for_timeout(1000)
    child = page.frames[-1]
    assert child is not page.main_frame
    assert child.url.startswith("chrome-error://"), child.url  # refused by frame-ancestors
    page.screenshot(path=shots / "h3-intercept-refused.png")
