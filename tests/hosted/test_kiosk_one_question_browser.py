"""A one-question-at-a-time survey's kiosk in a real Chromium: one question on the screen, a tap
on a scale point moves on, Back keeps the answer, Next refuses a required question left
unanswered, the last question's Submit sends the whole form once, and a step keeps the idle
reset away."""

from typing import Any

import pytest
from playwright.sync_api import expect

from surveys.kiosk.models import KioskDevice
from surveys.kiosk.services import kiosk_device_issue
from surveys.models import Answer, Presentation, PublicLink, Response
from tests.hosted.support import axe_violations
from tests.hosted.test_kiosk_browser import completed, skip_ahead, wait_for_count
from tests.support.browser import VIEWS
from tests.surveys.test_hosted_support import three_page_survey

WORDS = {
    "tr": {
        "progress": "Soru {} / {}",
        "required": "Lütfen bu soruyu yanıtlayın.",
        "reason": "Hız",
        "thanks": "Çok teşekkürler!",
    },
    "en": {
        "progress": "Question {} of {}",
        "required": "Please answer this question.",
        "reason": "Speed",
        "thanks": "Thanks a lot!",
    },
}


def press(page: Any, device: str, selector: str) -> None:
    """A finger on a phone, a mouse on a desktop."""
    target = page.locator(selector)
    if device == "phone":
        target.tap()
    else:
        target.click()


def expect_alone(page: Any, key: str) -> None:
    """`key`'s question is the only one on the screen, and focus is on its heading."""
    expect(page.locator(".kiosk-question:visible")).to_have_count(1)
    expect(page.locator(f".kiosk-question[data-key={key}]")).to_be_visible()
    expect(page.locator(f"#q-{key}-label")).to_be_focused()


def scale_rows(page: Any, key: str) -> int:
    tops = page.locator(f"#question-{key} .scale-option label").evaluate_all(
        "labels => labels.map(label => Math.round(label.getBoundingClientRect().top))"
    )
    return len(set(tops))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_kiosk_shows_a_one_question_survey_one_question_at_a_time(live_server, open_page, shots):
    # NPS; "improve" (NPS ≤ 6) or "liked" (NPS ≥ 9); CSAT; a choice. All required.
    survey = three_page_survey(presentation=Presentation.ONE_QUESTION)
    link = PublicLink.objects.create(
        survey=survey, slug="lobby", kiosk_thank_you_seconds=1, kiosk_idle_seconds=60
    )
    token = kiosk_device_issue(device=KioskDevice(public_link=link, name="Lobby"))
    setup = f"{live_server.url}/p/lobby/kiosk/setup/{token}/"

    for n, (lang, device) in enumerate(VIEWS, start=1):
        words = WORDS[lang]
        page = open_page(lang, device)
        page.goto(setup)
        assert page.url == f"{live_server.url}/p/lobby/kiosk/"
        progress = page.locator("#progress-label")
        nps = page.locator(".kiosk-question[data-key=nps]")
        expect(nps).to_be_visible()
        expect(page.locator(".kiosk-question:visible")).to_have_count(1)
        # Five: "improve" and "liked" wait on the NPS answer, as the hosted pages count them.
        expect(progress).to_have_text(words["progress"].format(1, 5))
        expect(page.locator("#kiosk-back")).to_be_hidden()
        expect(page.locator("#kiosk-form button[type=submit]")).to_be_hidden()
        assert scale_rows(page, "nps") == 1  # 0–10 on one row, also at 360 px
        page.screenshot(path=shots / f"kiosk-one-{lang}-{device}-first.png", full_page=True)

        # Next refuses the required NPS left unanswered, with the hosted page's error.
        page.locator("#kiosk-next").click()
        expect(page.locator("#q-nps-error")).to_contain_text(words["required"])
        expect(page.locator("#kiosk-announce")).to_contain_text(words["required"])
        expect(page.locator("#q-nps-label")).to_be_focused()
        expect(nps).to_be_visible()
        page.screenshot(path=shots / f"kiosk-one-{lang}-{device}-refused.png", full_page=True)
        if n == 1:
            assert axe_violations(page) == []

        # A tap on 3 answers and moves on to "improve" (shown for 6 or less): four in all now.
        press(page, device, "label[for=q-nps-3]")
        expect_alone(page, "improve")
        expect(progress).to_have_text(words["progress"].format(2, 4))
        expect(page.locator("#q-nps-error")).to_have_count(0)  # answered: the error is gone
        expect(page.locator("#kiosk-back")).to_be_visible()

        # Back keeps the answer; Next goes on without a tap.
        page.locator("#kiosk-back").click()
        expect_alone(page, "nps")
        expect(page.locator("#q-nps-3")).to_be_checked()
        expect(progress).to_have_text(words["progress"].format(1, 4))
        page.locator("#kiosk-next").click()
        expect_alone(page, "improve")
        page.locator("#kiosk-next").click()
        expect(page.locator("#q-improve-error")).to_contain_text(words["required"])
        page.locator("#q-improve").fill("Faster")
        expect(page.locator("#q-improve-error")).to_have_count(0)
        page.locator("#kiosk-next").click()
        expect_alone(page, "csat")
        expect(progress).to_have_text(words["progress"].format(3, 4))
        page.screenshot(path=shots / f"kiosk-one-{lang}-{device}-csat.png", full_page=True)
        if n == 1:
            assert axe_violations(page) == []

        # The last question shows Submit, which also wants its answer.
        press(page, device, "label[for=q-csat-4]")
        expect_alone(page, "reason")
        expect(progress).to_have_text(words["progress"].format(4, 4))
        submit = page.locator("#kiosk-form button[type=submit]")
        expect(submit).to_be_visible()
        expect(page.locator("#kiosk-next")).to_be_hidden()
        submit.click()
        expect(page.locator("#q-reason-error")).to_contain_text(words["required"])
        assert completed() == n - 1
        page.locator("#question-reason label", has_text=words["reason"]).click()
        chosen = page.locator("#question-reason input:checked + label")
        expect(chosen).to_have_css("background-color", "rgb(11, 92, 173)")  # faded in: --brand
        page.screenshot(path=shots / f"kiosk-one-{lang}-{device}-last.png", full_page=True)
        submit.click()
        expect(page.get_by_role("heading", name=words["thanks"])).to_be_visible()
        assert wait_for_count(page, n) == n
        response = Response.objects.filter(completed_on__isnull=False).latest("id")
        answers = {
            a.question.key: (a.number, a.text, a.choices)
            for a in Answer.objects.filter(response=response).select_related("question")
        }
        assert answers == {
            "nps": (3, "", None),
            "improve": (None, "Faster", None),
            "csat": (4, "", None),
            "reason": (None, "speed", ["speed"]),
        }

        # The next person starts at the first question, alone and unanswered.
        expect(page.locator("#kiosk-form")).to_be_visible(timeout=4000)
        expect(nps).to_be_visible()
        expect(page.locator(".kiosk-question:visible")).to_have_count(1)
        expect(progress).to_have_text(words["progress"].format(1, 5))
        expect(page.locator("#kiosk-form input:checked")).to_have_count(0)
    assert completed() == len(VIEWS)

    # Idle (60 s): a step is activity. 40 s, Back, 40 s more: the answer is still there, and the
    # warning comes only near 60 s after the last step. The page's clock is moved on.
    page.clock.install()
    page.reload()
    press(page, device, "label[for=q-nps-3]")
    expect_alone(page, "improve")
    skip_ahead(page, 40_000)
    page.locator("#kiosk-back").click()
    expect_alone(page, "nps")
    skip_ahead(page, 40_000)
    expect(page.locator("#kiosk-idle")).to_be_hidden()
    expect(page.locator("#q-nps-3")).to_be_checked()
    skip_ahead(page, 15_000)
    expect(page.locator("#kiosk-idle")).to_be_visible()
    expect(page.locator("#q-nps-3")).to_be_checked()
    assert completed() == len(VIEWS)
