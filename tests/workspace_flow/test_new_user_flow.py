"""A new XM manager on an empty install, in the browser, from the home page's checklist to the
first response on the dashboard, without typing JSON, code or ids: an audience, a journey with
two stages and their touchpoints, a survey from a template with one display rule built in the
visual editor, a trigger rule, an event recorded through the API by an integrator, the survey
answered on the hosted page, and the response counted on the home page and the dashboard.

The flow runs once (English, 1440 px); each step's page is also photographed in Turkish and
English at 1440 and 390 px: $SCREENSHOT_DIR/flow-<n>-<step>-<lang>-<width>.png.
"""

import re
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from surveys.models import Invitation, Question, Response, Survey
from tests.support.browser import LOCALES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {
    1440: {"viewport": {"width": 1440, "height": 900}},
    390: {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
PASSWORD = "correct-horse-battery"


def _log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "xm.manager")
    page.fill("#id_password", PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/$"))


class Camera:
    """The same page, photographed in each language and width, each step numbered."""

    def __init__(self, chromium: Any, base: str, shots: Path) -> None:
        self.shots, self.count, self.pages = shots, 0, {}
        for lang in LOCALES:
            for width, device in WIDTHS.items():
                page = chromium.new_context(locale=LOCALES[lang], **device).new_page()
                _log_in(page, base)
                self.pages[(lang, width)] = page

    def snap(self, step: str, url: str) -> None:
        self.count += 1
        for (lang, width), page in self.pages.items():
            page.goto(url)
            name = f"flow-{self.count:02d}-{step}-{lang}-{width}.png"
            page.screenshot(path=str(self.shots / name), full_page=True)

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def _choose(page: Any, field: str, typed: str, text: str) -> None:
    """A related object picked by its name from the field's search box (no id typed)."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    page.locator(".select2-search__field").fill(typed)
    page.locator(".select2-results__option", has_text=text).first.click()


def test_a_new_user_sets_up_a_survey_and_sees_the_first_response(
    chromium,  # noqa: ANN001
    live_server,  # noqa: ANN001
    shots: Path,
    xm_manager,  # noqa: ANN001
) -> None:
    base = live_server.url
    camera = Camera(chromium, base, shots)
    context = chromium.new_context(locale=LOCALES["en"], **WIDTHS[1440])
    page = context.new_page()
    _log_in(page, base)
    try:
        # 1. The home page: nothing is set up; the checklist leads.
        assert page.locator("#xm-step-audience").get_attribute("data-done") == "false"
        camera.snap("home", f"{base}/admin/")

        # 2. An audience with an owner (the owner chosen by name from the autocomplete).
        page.locator("#xm-step-audience a.button").click()
        page.fill("#id_name", "Customers")
        page.select_option("#id_kind", "customer")
        _choose(page, "owner", "xm", "xm.manager")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_have_count(1)
        camera.snap("audience", page.url)

        # 3. A journey with two stages, then a touchpoint on each stage.
        page.goto(f"{base}/admin/")
        page.locator("#xm-step-journey a.button").click()
        page.select_option("#id_audience", label="Customers")
        page.fill("#id_name", "Customer journey")
        for row, name in enumerate(("Purchase", "Support")):
            page.locator("#stages-group .add-row a").click()
            page.fill(f"#id_stages-{row}-order", str(row + 1))
            page.fill(f"#id_stages-{row}-name", name)
        page.click("input[name=_continue]")
        page.wait_for_url(re.compile(r".*/journey/\d+/change/"))
        journey_url = page.url
        for row, (name, channel, role) in enumerate(
            (("Checkout", "web", "purchase"), ("Support call", "phone", "support_request"))
        ):
            page.goto(journey_url)
            page.locator("#stages-group a.inlinechangelink").nth(row).click()
            page.locator("#touchpoints-group .add-row a").click()
            page.fill("#id_touchpoints-0-name", name)  # the slug follows the name
            page.select_option("#id_touchpoints-0-channel", channel)
            page.select_option("#id_touchpoints-0-role", role)
            page.click("input[name=_save]")
            expect(page.locator(".messagelist .success")).to_have_count(1)
        page.goto(journey_url)
        assert page.locator(".journey-map-card").count() == 2
        camera.snap("journey", journey_url)

        # 4. A survey from the NPS template, about the checkout.
        page.goto(f"{base}/admin/")
        page.locator("#xm-step-survey a.button").click()
        nps = page.locator("#id_template").evaluate(
            "s => [...s.options].find(o => /NPS/.test(o.text)).value"
        )
        page.select_option("#id_template", nps)
        page.select_option("#id_audience", label="Customers")
        checkout = page.locator("#id_touchpoint").evaluate(
            "s => [...s.options].find(o => /Checkout/.test(o.text)).value"
        )
        page.select_option("#id_touchpoint", checkout)
        page.click("#content-main [type=submit]")
        page.wait_for_url(re.compile(r".*/survey/\d+/change/"))
        survey = Survey.objects.get()
        assert survey.questions.count() >= 2
        survey_url = f"{base}/admin/surveys/survey/{survey.pk}/change/"
        camera.snap("survey", survey_url)

        # 5. One display rule in the visual editor ("show when NPS is below 7"), and live.
        page.goto(survey_url)
        prefix = page.eval_on_selector_all(
            ".xm-card",
            "cs => cs.find(c => c.querySelector('.xm-field-key input').value === 'may_contact')"
            ".dataset.prefix",
        )
        card = page.locator(f".xm-card[data-prefix='{prefix}']")
        condition = card.locator(".xm-condition").first
        condition.locator(".xm-cond-question").select_option("nps")
        condition.locator(".xm-cond-op").select_option("gte")
        condition.locator(".xm-value-pick").select_option("7")
        page.select_option("#id_status", "live")
        page.click("input[name=_continue]")
        page.wait_for_selector(".messagelist .success")
        assert Question.objects.get(survey=survey, key="may_contact").show_if == {
            "question": "nps",
            "op": "gte",
            "value": 7,
        }
        camera.snap("logic", survey_url)

        # 6. A trigger rule: after a checkout, by e-mail (survey and touchpoint picked by name).
        page.goto(f"{base}/admin/")
        page.locator("#xm-step-rule a.button").click()
        _choose(page, "survey", survey.name[:5], survey.name)
        page.fill("#id_name", "After checkout")
        page.select_option("#id_kind", "trigger")
        _choose(page, "touchpoint", "check", "Checkout")
        page.click("input[name=_save]")
        expect(page.locator(".messagelist .success")).to_have_count(1)
        camera.snap("rule", page.url)

        # 7. The integrator sends the customer and the checkout through the API.
        from xmplatform.api.services import api_key_create

        key = api_key_create(name="shop", audiences=[survey.audience])[1]
        api = context.request
        headers = {"Authorization": f"Bearer {key}"}
        person = {
            "external_id": "c-1",
            "email": "ayse@example.com",
            "name": "Ayşe Yılmaz",
            "audiences": [{"audience": survey.audience.slug}],
        }
        answer = api.post(f"{base}/api/v1/people/", data=[person], headers=headers)
        assert answer.ok, answer.text()
        slug = survey.touchpoint.slug
        event = {"person": "c-1", "touchpoint": slug, "occurred_at": timezone.now().isoformat()}
        answer = api.post(f"{base}/api/v1/events/", data=[event], headers=headers)
        assert answer.ok and answer.json()["accepted"] == 1, answer.text()

        # 8. The invitation goes out (the beat's sending cycle) and is answered.
        from surveys.distribution import sending

        invitation = Invitation.objects.get()
        sending.dispatch_cycle(now=max(timezone.now(), invitation.due_at))
        link = re.search(r"https?://[^/\s]+(/s/[^/\s]+/)", mail.outbox[-1].body).group(1)
        page.goto(f"{base}{link}")
        camera.snap("hosted", f"{base}{link}")
        page.locator("label[for=q-nps-9]").click()  # a tap on the score moves on
        for _screen in range(10):  # the optional questions are left empty
            if "done=1" in page.url:
                break
            contact = page.locator("label[for^=q-may_contact]")
            if contact.count() and contact.first.is_visible():
                contact.first.click()  # "Yes"
            page.locator("button[type=submit]").click()
            page.wait_for_timeout(250)
        page.wait_for_url("**done=1**")
        assert Response.objects.filter(completed_on__isnull=False).count() == 1

        # 9. The response on the home page (the checklist's last step) and the dashboard.
        page.goto(f"{base}/admin/")
        home = page.locator("#xm-step-response")
        assert home.count() == 0 or home.get_attribute("data-done") == "true"
        camera.snap("home-after", f"{base}/admin/")
        page.goto(f"{base}/admin/metrics/{survey.audience.slug}/")
        assert "n = 1" in page.locator("#xm-headline").inner_text()
        camera.snap("dashboard", page.url)
    finally:
        context.close()
        camera.close()
