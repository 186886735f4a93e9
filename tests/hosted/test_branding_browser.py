"""A branded survey in a real Chromium: the logo, colour and font on the page, a focus ring
that keeps 3:1 against what surrounds it, the survey's title as the h1, and the thank-you
page's call to action with its announced, stoppable redirect; axe finds nothing."""

from typing import Any

import pytest
from django.utils import translation

from audiences.branding import contrast_ratio
from tests.hosted.support import axe_violations
from tests.hosted.test_branding import branded_audience
from tests.support.browser import VIEWS
from tests.surveys.test_hosted_support import add_question, invite, make_survey, url

TITLE = {"en": "Your visit", "tr": "Ziyaretiniz"}

# The focused element's ring colour and the first opaque background behind it, as #rrggbb.
RING_AND_BACKGROUND = """el => {
  const hex = c => '#' + c.match(/\\d+/g).slice(0, 3)
    .map(n => Number(n).toString(16).padStart(2, '0')).join('');
  let node = el.parentElement, bg = 'rgba(0, 0, 0, 0)';
  while (node && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg)) {
    bg = getComputedStyle(node).backgroundColor; node = node.parentElement;
  }
  return [hex(getComputedStyle(el).outlineColor), hex(bg)];
}"""


def _look(page: Any, shots: Any, name: str) -> None:
    page.wait_for_timeout(150)  # the selection colour's transition
    page.screenshot(path=shots / f"h1-branding-{name}.png", full_page=True)
    assert axe_violations(page) == [], name


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_branded_survey_and_its_thank_you_call_to_action(live_server, open_page, shots):
    audience = branded_audience(brand_redirect_seconds=60)
    survey = make_survey(audience=audience, brand_colour="#1b5e20")  # the survey's own colour
    add_question(survey, "nps", "nps", required=False)
    for n, (lang, device) in enumerate(VIEWS):
        name = f"{lang}-{device}"
        _invitation, token = invite(survey, external_id=f"b-{n}", language=lang)
        page = open_page(lang, device)
        page.goto(f"{live_server.url}{url(token)}")

        assert page.locator("h1").all_inner_texts() == [TITLE[lang]]
        assert page.locator("img.brand-logo").evaluate("img => img.naturalWidth") == 120
        assert "Charter" in page.evaluate("getComputedStyle(document.body).fontFamily")
        submit = page.locator("form.survey button[type=submit]")
        assert submit.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(27, 94, 32)"
        page.keyboard.press("Tab")  # the keyboard's focus: the skip link, then on to the button
        submit.focus()
        assert submit.evaluate("b => getComputedStyle(b).outlineStyle") == "solid"
        ring, background = submit.evaluate(RING_AND_BACKGROUND)
        assert ring == "#1b5e20"  # derived from the brand colour: it keeps 3:1
        assert contrast_ratio(ring, background) >= 3.0, (ring, background)
        _look(page, shots, f"{name}-page")

        page.click("label[for=q-nps-9]")
        submit.click()
        page.wait_for_url("**done=1**")
        assert page.locator("h1").all_inner_texts() == [TITLE[lang]]
        cta = page.locator("#cta")
        assert cta.get_attribute("href") == "https://shop.example.com/thanks"
        assert cta.inner_text() == "Back to the shop"
        note = page.locator("#redirect-note")
        note.wait_for(state="visible")
        assert note.get_attribute("role") == "status"
        assert "shop.example.com" in note.inner_text()
        _look(page, shots, f"{name}-thanks")
        with translation.override(lang):  # the page's own words, as the catalogue has them
            stay, stayed = (
                translation.gettext("Stay on this page"),
                translation.gettext("You stay on this page."),
            )
        page.get_by_role("button", name=stay).click()
        assert note.inner_text() == stayed
        assert page.evaluate("document.activeElement.id") == "cta"
        page.keyboard.press("Shift+Tab")  # back to the keyboard: the ring shows on focus
        cta.focus()
        assert cta.evaluate("a => getComputedStyle(a).outlineStyle") == "solid"
        ring, background = cta.evaluate(RING_AND_BACKGROUND)
        assert contrast_ratio(ring, background) >= 3.0, (ring, background)
