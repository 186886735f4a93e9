"""An NPS survey from the catalogue answered in a real Chromium, in Turkish and English, on a
phone (360 px) and a desktop: the first page states the builder's duration once and labels the
scale's ends once; the thank-you page thanks once. Each page is saved as
respondent-<nps|thanks>-<lang>-<phone|desktop>.png under $SCREENSHOT_DIR for a person to look at.
"""

from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from surveys import catalog
from surveys.models import Presentation, SurveyStatus
from surveys.selectors import duration_sentence, survey_estimated_seconds
from tests.factories import make_audience, make_user
from tests.support.browser import DEVICES, LOCALES, VIEWS
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    plain_static_files,
    url,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

THANKS = {  # the catalogue's thank-you text, said once, as the heading
    "en": "Thank you! Your answers help us improve.",
    "tr": "Teşekkür ederiz! Yanıtlarınız kendimizi geliştirmemize yardımcı oluyor.",
}
ENDS = {
    "en": ("Not at all likely", "Extremely likely"),
    "tr": ("Hiç olası değil", "Çok olası"),
}


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"scrolls sideways: {width}px"


def test_an_nps_survey_states_its_duration_labels_its_ends_and_thanks_once(
    live_server: Any, chromium: Any, shots: Path
) -> None:
    audience = make_audience("customers", owner=make_user("owner"))
    survey = catalog.survey_create_from_template(template_key="relationship_nps", audience=audience)
    survey.status = SurveyStatus.LIVE
    survey.presentation = Presentation.PAGES  # the copy is checked here, page by page
    survey.save()
    for lang, device in VIEWS:
        _answer_in_view(live_server, chromium, shots, survey, lang, device)


def _answer_in_view(
    live_server: Any, chromium: Any, shots: Path, survey: Any, lang: str, device: str
) -> None:
    with translation.override(lang):
        told = duration_sentence(survey_estimated_seconds(survey=survey))
    _invitation, token = invite(survey, external_id=f"p-{lang}-{device}", language=lang)
    context = chromium.new_context(locale=LOCALES[lang], **DEVICES[device])
    page = context.new_page()
    try:
        page.goto(live_server.url + url(token))
        assert page.locator("html").get_attribute("lang") == lang
        body = page.locator("body").inner_text()
        assert body.count(told) == 1 and page.locator(".duration").is_visible()
        low, high = ENDS[lang]
        assert (body.count(low), body.count(high)) == (1, 1)
        assert page.locator(".scale-ends").is_visible()
        _no_sideways_scroll(page)
        page.screenshot(path=shots / f"respondent-nps-{lang}-{device}.png", full_page=True)

        page.click("label[for=q-nps-9]")
        submit = page.locator("form.survey button[type=submit]")
        submit.click()
        page.wait_for_url("**page=2**")  # the promoter's follow-up, left empty
        submit.click()
        page.wait_for_url("**page=3**")
        page.click("label[for=q-may_contact-1]")  # "No"
        submit.click()
        page.wait_for_url("**done=1**")
        heading = page.get_by_role("heading", level=2)  # under the survey's title
        assert heading.inner_text() == THANKS[lang]
        thanks_body = page.locator("main").inner_text()
        assert thanks_body.count(THANKS[lang]) == 1
        assert thanks_body.lower().count("thank you" if lang == "en" else "teşekkür") == 1
        _no_sideways_scroll(page)
        page.screenshot(path=shots / f"respondent-thanks-{lang}-{device}.png", full_page=True)
    finally:
        context.close()
