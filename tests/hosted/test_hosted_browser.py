"""The hosted pages in a real Chromium: one question at a time (tap to advance, back, focus,
progress), the 0–10 scale on one row at 360 px, and axe-core on every page type in both
presentations, in Turkish and English on a phone and a desktop, and in Arabic (right to left)."""

from collections.abc import Iterator
from typing import Any

import pytest

from surveys.models import Answer, QuestionType, Response, SurveyStatus
from tests.hosted.support import ARABIC, add_arabic, axe_violations, one_question_survey
from tests.support.browser import DEVICES
from tests.surveys.test_hosted_support import (
    add_question,
    hours_ago,
    invite,
    make_survey,
    public_link,
    three_page_survey,
    url,
)

COMBOS = [("tr", "phone"), ("tr", "desktop"), ("en", "phone"), ("en", "desktop"), ("ar", "phone")]
# axe checks markup, which is the same on every device: each page type in each language once, on
# a phone in Turkish and Arabic (right to left) and on a desktop in English.
AXE_COMBOS = [("tr", "phone"), ("en", "desktop"), ("ar", "phone")]
BROWSER_LOCALES = {"tr": "tr-TR", "en": "en-GB", "ar": "ar-EG"}
TEXTS = {
    "tr": {
        "nps": "Bizi bir arkadaşınıza tavsiye etme olasılığınız nedir?",
        "liked": "Neyi beğendiniz?",
        "improve": "Neyi iyileştirmeliyiz?",
        "csat": "Genel olarak ne kadar memnunsunuz?",
        "reason": "Sizin için en önemlisi nedir?",
        "thanks": "Çok teşekkürler!",
        "first": "Soru 1 / 5",
        "second": "Soru 2 / 4",
        "next": "İleri",
        "back": "Geri",
        "submit": "Gönder",
        "speed": "Hız",
    },
    "en": {
        "nps": "How likely are you to recommend us to a friend?",
        "liked": "What did you like?",
        "improve": "What should we improve?",
        "csat": "How satisfied are you overall?",
        "reason": "What matters most to you?",
        "thanks": "Thanks a lot!",
        "first": "Question 1 of 5",
        "second": "Question 2 of 4",
        "next": "Next",
        "back": "Back",
        "submit": "Submit",
        "speed": "Speed",
    },
}
# Arabic has no catalogue of the page's own words yet: those are English.
TEXTS["ar"] = {
    **TEXTS["en"],
    **{key: ARABIC[key] for key in ("nps", "liked", "improve", "csat", "reason", "speed")},
    "thanks": ARABIC["thank_you"],
}


@pytest.fixture
def open_in(chromium: Any) -> Iterator[Any]:
    """open_in(lang, device): a fresh page asking for `lang` (ar too) at the device's size."""
    contexts = []

    def open_(lang: str, device: str) -> Any:
        context = chromium.new_context(locale=BROWSER_LOCALES[lang], **DEVICES[device])
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def check(page: Any, shots: Any, name: str) -> None:
    """Save a screenshot of `page` and assert axe finds no violation on it."""
    page.wait_for_timeout(150)  # let the selection colour transition finish
    page.screenshot(path=shots / f"h8-{name}.png", full_page=True)
    assert axe_violations(page) == [], name


def focused_text(page: Any) -> str:
    focused = page.locator(".step-heading:focus")
    focused.wait_for(timeout=10_000)
    return focused.inner_text().strip()


def scale_boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return page.locator(f"{selector} label").evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, w: r.width, h: r.height, right: r.right}; })"
    )


def assert_one_row(page: Any, selector: str, count: int, device: str) -> None:
    boxes = scale_boxes(page, selector)
    assert len(boxes) == count
    assert len({round(b["y"]) for b in boxes}) == 1, boxes  # all on one row
    assert min(b["w"] for b in boxes) >= 24 and min(b["h"] for b in boxes) >= 44, boxes
    if device == "phone":
        assert max(b["right"] for b in boxes) <= 360


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_one_question_at_a_time_taps_forward_and_goes_back(live_server, open_in, shots):
    survey = one_question_survey()
    for n, (lang, device) in enumerate(COMBOS):
        words = TEXTS[lang]
        _invitation, token = invite(survey, external_id=f"p-{n}", language=lang)
        page = open_in(lang, device)
        name = f"one-{lang}-{device}"
        page.goto(f"{live_server.url}{url(token)}")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else None)
        assert page.locator(".step-heading").inner_text().startswith(words["nps"])
        assert page.locator("#progress-label").inner_text() == words["first"]
        assert_one_row(page, ".scale-nps", 11, device)
        if lang == "ar":  # mirrored: 0 at the right, 10 at the left
            boxes = scale_boxes(page, ".scale-nps")
            assert boxes[0]["x"] > boxes[10]["x"]
        check(page, shots, f"{name}-1-nps")

        if (lang, device) == ("en", "desktop"):
            # Arrow keys only choose (radio semantics); Enter goes on.
            page.focus("#q-nps-0")
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(400)
            assert page.is_checked("#q-nps-1")
            assert page.locator(".step-heading").inner_text().startswith(words["nps"])
            page.keyboard.press("ArrowRight")
            page.keyboard.press("Enter")
            assert focused_text(page).startswith(words["improve"])
            page.locator("a.js-back").click()
            assert focused_text(page).startswith(words["nps"])
            assert page.is_checked("#q-nps-2")

        tap = page.tap if device == "phone" else page.click
        tap("label[for=q-nps-9]")
        assert focused_text(page).startswith(words["liked"])
        page.wait_for_url("**page=3**")
        assert page.locator("#step-status").inner_text() == words["second"]
        check(page, shots, f"{name}-2-liked")

        page.get_by_role("link", name=words["back"]).click()
        assert focused_text(page).startswith(words["nps"])
        assert page.is_checked("#q-nps-9")
        tap("label[for=q-nps-9]")
        assert focused_text(page).startswith(words["liked"])
        page.get_by_role("textbox").fill("Güler yüz")
        page.get_by_role("button", name=words["next"]).click()

        assert focused_text(page).startswith(words["csat"])
        assert_one_row(page, ".scale-csat", 5, device)
        check(page, shots, f"{name}-3-csat")
        tap("label[for=q-csat-4]")
        assert focused_text(page).startswith(words["reason"])
        page.get_by_text(words["speed"], exact=True).click()
        page.get_by_role("button", name=words["submit"]).click()

        page.wait_for_url("**done=1**")
        # The survey's title is the page's h1; the thanks are the message's h2.
        heading = page.get_by_role("heading", level=2)
        assert heading.inner_text() == words["thanks"]
        assert page.evaluate("document.activeElement.tagName") == "H2"
        check(page, shots, f"{name}-4-thanks")

    responses = Response.objects.filter(completed_on__isnull=False)
    assert responses.count() == len(COMBOS)
    nps = Answer.objects.filter(question__key="nps").values_list("number", flat=True)
    assert sorted(nps) == [9] * len(COMBOS)


SWITCH_TO = {"tr": "English", "en": "Türkçe", "ar": "English"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_axe_finds_nothing_on_any_hosted_page(live_server, open_in, shots):
    paged = three_page_survey(languages=["tr", "en", "ar"])
    add_arabic(paged)
    stepped = one_question_survey(name="Stepped", audience=paged.audience)
    closed = make_survey(name="Closed", status=SurveyStatus.CLOSED, audience=paged.audience)
    add_question(closed, "nps", QuestionType.NPS)
    link = public_link(stepped)
    for n, (lang, device) in enumerate(AXE_COMBOS):
        words = TEXTS[lang]
        name = f"{lang}-{device}"
        page = open_in(lang, device)
        _invitation, token = invite(paged, external_id=f"p-{n}", language=lang)
        base = f"{live_server.url}{url(token)}"

        page.goto(base)
        assert page.locator("#progress").count() == 1
        check(page, shots, f"pages-{name}-1")
        page.get_by_role("button", name=words["next"]).click()
        page.wait_for_selector("#error-summary")
        check(page, shots, f"pages-{name}-error")

        page.get_by_role("link", name=SWITCH_TO[lang]).click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") != lang
        check(page, shots, f"pages-{name}-switched")

        page.goto(f"{base}?lang={lang}")
        page.click("label[for=q-nps-10]")
        page.get_by_role("button", name=words["next"]).click()
        page.wait_for_url("**page=2**")
        page.get_by_role("textbox").fill("Güler yüz")
        page.get_by_role("button", name=words["next"]).click()
        page.wait_for_url("**page=3**")
        page.click("label[for=q-csat-4]")
        page.get_by_text(words["speed"], exact=True).click()
        check(page, shots, f"pages-{name}-3")
        page.get_by_role("button", name=words["submit"]).click()
        page.wait_for_url("**done=1**")
        check(page, shots, f"pages-{name}-thanks")

        page.goto(f"{base}optout/?lang={lang}")
        check(page, shots, f"optout-{name}")

        _closed, closed_token = invite(closed, external_id=f"c-{n}", language=lang)
        assert page.goto(f"{live_server.url}{url(closed_token)}").status == 410
        check(page, shots, f"closed-{name}")
        _expired, expired_token = invite(
            paged, external_id=f"e-{n}", language=lang, expires_at=hours_ago(1)
        )
        assert page.goto(f"{live_server.url}{url(expired_token)}").status == 410
        check(page, shots, f"expired-{name}")
        assert page.goto(f"{live_server.url}{url('no-such-link-0123456789')}").status == 404
        check(page, shots, f"notfound-{name}")

        page.goto(f"{live_server.url}/p/{link.slug}/?lang={lang}")
        assert page.locator("body.one-question").count() == 1
        check(page, shots, f"public-{name}")
        page.get_by_role("button", name=words["next"]).click()
        page.wait_for_selector("#error-summary")
        assert page.evaluate("document.activeElement.id") == "error-summary"
        check(page, shots, f"public-{name}-error")
