"""A kiosk in a real Chromium: set up by its link, it starts again after the thank-you page and
after idle time (with a countdown said to screen readers), and an answer given offline is kept
and delivered exactly once when the connection is back."""

from typing import Any

import pytest

from surveys.kiosk.models import KioskDevice
from surveys.kiosk.services import kiosk_device_issue
from surveys.models import PublicLink, QuestionType, Response
from tests.hosted.support import axe_violations
from tests.support.browser import VIEWS
from tests.surveys.test_hosted_support import IMPROVE, add_question, make_survey

TEXTS = {
    "tr": {"thanks": "Çok teşekkürler!", "improve": "Neyi iyileştirmeliyiz?"},
    "en": {"thanks": "Thanks a lot!", "improve": "What should we improve?"},
}


def completed() -> int:
    return Response.objects.filter(completed_on__isnull=False).count()


def wait_for_count(page: Any, expected: int, seconds: float = 6) -> int:
    for _ in range(int(seconds * 10)):
        if completed() == expected:
            break
        page.wait_for_timeout(100)
    return completed()


def skip_ahead(page: Any, ms: int, *, resume: bool = True) -> None:
    """Move the page's installed clock on by `ms`, firing its timers on the way."""
    page.clock.pause_at(page.evaluate("Date.now() + 50") / 1000)  # Unix time, in seconds
    page.clock.run_for(ms)
    if resume:
        page.clock.resume()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_kiosk_resets_itself_and_delivers_an_offline_answer_once(live_server, open_page, shots):
    survey = make_survey()
    add_question(survey, "nps", QuestionType.NPS, order=1, required=True)
    add_question(
        survey,
        "improve",
        QuestionType.TEXT,
        order=2,
        required=False,
        show_if=IMPROVE,
        label={"en": TEXTS["en"]["improve"], "tr": TEXTS["tr"]["improve"]},
    )
    link = PublicLink.objects.create(
        survey=survey, slug="lobby", kiosk_thank_you_seconds=1, kiosk_idle_seconds=30
    )
    token = kiosk_device_issue(device=KioskDevice(public_link=link, name="Lobby"))
    setup = f"{live_server.url}/p/lobby/kiosk/setup/{token}/"

    for n, (lang, device) in enumerate(VIEWS, start=1):
        page = open_page(lang, device)
        page.goto(setup)
        assert page.url == f"{live_server.url}/p/lobby/kiosk/"
        improve = page.get_by_role("textbox", name=TEXTS[lang]["improve"])
        assert improve.is_hidden()  # display logic: shown for a score of 6 or less
        page.locator("label[for=q-nps-3]").click()
        assert improve.is_visible()
        improve.fill("Faster")
        page.screenshot(path=shots / f"kiosk-{lang}-{device}-form.png", full_page=True)
        if n == 1:
            assert axe_violations(page) == []
        page.locator("#kiosk-form button[type=submit]").click()
        page.get_by_role("heading", name=TEXTS[lang]["thanks"]).wait_for()
        page.screenshot(path=shots / f"kiosk-{lang}-{device}-thanks.png", full_page=True)
        assert wait_for_count(page, n) == n
        # After the link's thank-you time the survey starts again, empty, for the next person.
        page.locator("#kiosk-form").wait_for(timeout=4000)
        assert page.locator("input[name=q-nps]:checked").count() == 0
        assert Response.objects.filter(answers__text="Faster").count() == n

    # Idle: a started answer is cleared after the link's idle time (30 s), with a warning said
    # once; the page's clock is moved on instead of waiting.
    page.clock.install()
    page.reload()
    page.locator("label[for=q-nps-8]").click()
    skip_ahead(page, 20_500)  # 9.5 s left: the warning shows the last 10
    page.locator("#kiosk-idle").wait_for(state="visible")
    assert "10 seconds" in page.locator("#kiosk-announce").inner_text()
    page.screenshot(path=shots / "kiosk-en-desktop-idle.png", full_page=True)
    assert axe_violations(page) == []
    skip_ahead(page, 9_000, resume=False)
    with page.expect_navigation(timeout=10_000):  # the start again, once the clock runs on
        page.clock.resume()
    page.locator("#kiosk-form").wait_for()
    assert page.locator("input[name=q-nps]:checked").count() == 0
    assert page.locator("#kiosk-idle").is_hidden()
    assert completed() == len(VIEWS)

    # Offline: the answer is kept on the device, the page starts again, and a reload works.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.context.set_offline(True)
    page.locator("label[for=q-nps-9]").click()
    page.locator("#kiosk-form button[type=submit]").click()
    page.locator("#saved-heading").wait_for()
    page.screenshot(path=shots / "kiosk-en-desktop-offline-saved.png", full_page=True)
    page.locator("#kiosk-form").wait_for(timeout=4000)
    page.locator("#kiosk-status").wait_for(state="visible")
    page.screenshot(path=shots / "kiosk-en-desktop-offline-start.png", full_page=True)
    page.reload()  # served by the service worker
    page.locator("#kiosk-form").wait_for()
    assert completed() == len(VIEWS)
    page.context.set_offline(False)
    assert wait_for_count(page, len(VIEWS) + 1) == len(VIEWS) + 1
    page.wait_for_timeout(500)
    assert completed() == len(VIEWS) + 1
    assert page.evaluate("Object.keys(localStorage).map(k => localStorage[k]).join()") == "[]"
    assert Response.objects.filter(answers__number=9).count() == 1
