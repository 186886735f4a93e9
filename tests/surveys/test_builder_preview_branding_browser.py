"""The builder's preview of a branded survey in a real Chromium, in Turkish and English, on a
phone and a desktop: the audience's logo, colour, font and thank-you button as on the hosted
page, an unsaved colour followed, and no style refused by the Content-Security-Policy."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from audiences.branding import FONT_STACKS, Font
from tests.hosted.test_branding import branded_audience
from tests.support.browser import VIEWS
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions
from tests.surveys.test_builder_browser import _signed_in

AUDIENCE_COLOUR, EDITED_COLOUR = "rgb(122, 31, 92)", "rgb(27, 94, 32)"  # #7a1f5c, #1b5e20
THANKS = {"en": "Thanks a lot!", "tr": "Çok teşekkürler!"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_builder_preview_wears_the_hosted_pages_brand(
    live_server, open_page, shots, settings, xm_manager
):
    settings.STORAGES = PLAIN_STATIC
    audience = branded_audience(brand_redirect_seconds=60)
    # Made before the browser runs (the live server shares the in-memory database).
    surveys = {
        view: survey_with_questions(audience, name=f"Visit {view[0]} {view[1]}", thank_you=THANKS)
        for view in VIEWS
    }
    for lang, device in VIEWS:
        survey = surveys[lang, device]
        name = f"preview-brand-{lang}-{device}"
        page = _signed_in(open_page, live_server, xm_manager, lang, device)
        refused = []
        page.on(
            "console",
            lambda message, refused=refused: (
                "Content Security Policy" in message.text and refused.append(message.text)
            ),
        )
        page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/")

        frame = page.frame_locator("#xm-preview-frame")
        button = frame.locator(".pv-next span").first
        expect(button).to_have_css("background-color", AUDIENCE_COLOUR)
        expect(frame.locator(".pv-logo")).to_have_js_property("naturalWidth", 120)
        expect(frame.locator("body")).to_have_css("font-family", FONT_STACKS[Font.SERIF])
        expect(frame.locator(".pv-cta span")).to_have_text("Back to the shop")
        expect(frame.locator(".pv-cta span")).to_have_css("background-color", AUDIENCE_COLOUR)
        page.locator(".xm-preview").screenshot(path=str(shots / f"{name}-builder.png"))

        # The survey's own colour, not yet saved: the preview follows it.
        branding = page.locator("details", has=page.locator("[name=brand_colour_1]"))
        branding.locator("summary").click()
        branding.locator("[name=brand_colour_0]").check()
        branding.locator("[name=brand_colour_1]").fill("#1b5e20")
        expect(button).to_have_css("background-color", EDITED_COLOUR)
        page.locator(".xm-preview").screenshot(path=str(shots / f"{name}-edited.png"))
        assert refused == []

        # The preview page itself (the frame before builder.js refreshes it), whole, and the
        # hosted page it stands for, to compare.
        preview = reverse("admin:surveys_survey_builder_preview", args=[survey.pk])
        page.goto(f"{live_server.url}{preview}?lang={lang}")
        expect(page.locator(".pv-cta span")).to_have_css("background-color", AUDIENCE_COLOUR)
        page.screenshot(path=str(shots / f"{name}-frame.png"), full_page=True)
        page.goto(f"{live_server.url}/s/preview/{survey.pk}/?lang={lang}")
        expect(page.locator("form.survey button[type=submit]")).to_have_css(
            "background-color", AUDIENCE_COLOUR
        )
        page.screenshot(path=str(shots / f"{name}-hosted.png"), full_page=True)
        assert refused == []
        page.context.close()
