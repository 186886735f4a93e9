"""A respondent answers a three-page Turkish survey on a phone in a real Chromium."""

import pytest

from surveys.models import Answer, InvitationState, Response
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    plain_static_files,
    three_page_survey,
    url,
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_respondent_answers_a_turkish_survey_on_a_phone(live_server, phone_page, tmp_path):
    survey = three_page_survey()
    invitation, token = invite(survey, language="tr", segment="gold")
    page = phone_page

    page.goto(live_server.url + url(token))
    assert page.locator("html").get_attribute("lang") == "tr"
    assert page.get_by_text("Bizi bir arkadaşınıza tavsiye etme olasılığınız nedir?").is_visible()
    assert page.get_by_text("Sayfa 1 / 3").is_visible()
    page.screenshot(path=tmp_path / "page-1.png", full_page=True)
    page.click("label[for=q-nps-10]")
    page.get_by_role("button", name="İleri").click()

    page.wait_for_url("**page=2**")
    assert page.get_by_text("Sayfa 2 / 3").is_visible()
    assert page.locator("legend", has_text="Neyi beğendiniz?").is_visible()
    assert page.locator("legend", has_text="Neyi iyileştirmeliyiz?").count() == 0
    page.get_by_role("textbox", name="Neyi beğendiniz?").fill("Güler yüzlü çalışanlar")
    page.get_by_role("button", name="İleri").click()

    page.wait_for_url("**page=3**")
    assert page.get_by_text("Sayfa 3 / 3").is_visible()
    page.get_by_role("button", name="Gönder").click()
    # Nothing chosen yet: both questions say so in Turkish, next to themselves.
    assert page.locator("#q-csat-error").text_content() == "Hata: Lütfen bu soruyu yanıtlayın."
    page.click("label[for=q-csat-4]")
    page.get_by_text("Hız", exact=True).click()
    assert page.is_checked("#q-csat-4")
    page.wait_for_timeout(300)  # let the selection colour transition finish
    screenshot = tmp_path / "page-3.png"
    page.screenshot(path=screenshot, full_page=True)
    page.get_by_role("button", name="Gönder").click()

    page.wait_for_url("**done=1**")
    assert page.get_by_role("heading", name="Çok teşekkürler!").is_visible()
    assert page.get_by_text("Teşekkür ederiz!").count() == 0  # thanked once
    assert screenshot.exists() and screenshot.stat().st_size > 10_000

    response = Response.objects.get()
    assert response.invitation == invitation
    assert response.language == "tr"
    assert response.segment == "gold"
    assert response.completed_on is not None
    answers = {
        a.question.key: (a.number, a.text, a.choices)
        for a in Answer.objects.select_related("question")
    }
    assert answers == {
        "nps": (10, "", None),
        "liked": (None, "Güler yüzlü çalışanlar", None),
        "csat": (4, "", None),
        "reason": (None, "speed", ["speed"]),
    }
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED
