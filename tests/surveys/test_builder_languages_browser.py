"""The builder of a four-language survey in a real browser, in Turkish and English, on a phone
and a desktop: a column per language for the choices (Arabic right to left), a language added
with its inputs at once, the preview switched between languages, the texts saved."""

import pytest
from playwright.sync_api import expect

from surveys.models import Question
from tests.factories import make_audience
from tests.support.browser import VIEWS
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions
from tests.surveys.test_builder_browser import _signed_in

FOUR = ["tr", "en", "de", "ar"]
REASON = {"tr": "Ana neden", "en": "Main reason", "de": "Hauptgrund", "ar": "السبب الرئيسي"}
NPS = {
    "tr": "Bizi tavsiye eder misiniz?",
    "en": "Recommend us?",
    "de": "Würden Sie uns empfehlen?",
    "ar": "هل توصي بنا؟",
}
CHOICES = [
    {"value": "price", "label": {"tr": "Fiyat", "en": "Price", "de": "Preis", "ar": "السعر"}},
    {"value": "speed", "label": {"tr": "Hız", "en": "Speed", "de": "Tempo", "ar": "السرعة"}},
]
# What the admin calls German and Arabic, and Russian added on the page.
NAMES = {"tr": ("Almanca", "Arapça", "Rusça"), "en": ("German", "Arabic", "Russian")}


def four_language_survey(audience, name: str):  # noqa: ANN001, ANN201
    survey = survey_with_questions(
        audience,
        name=name,
        languages=FOUR,
        title={"tr": "Ziyaretiniz", "en": "Your visit", "de": "Ihr Besuch", "ar": "زيارتك"},
    )
    for key, label in (("nps", NPS), ("reason", REASON)):
        Question.objects.filter(survey=survey, key=key).update(label=label)
    Question.objects.filter(survey=survey, key="reason").update(choices=CHOICES)
    Question.objects.filter(survey=survey, key="improve").update(
        label={"tr": "Neyi iyileştirmeliyiz?", "en": "What should we improve?"}
    )
    return survey


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_builder_edits_a_four_language_survey(live_server, open_page, shots, settings, xm_manager):
    settings.STORAGES = PLAIN_STATIC
    audience = make_audience()
    # Made before the browser runs: the live server's requests share the in-memory database,
    # and a write from this thread while one is served finds its tables locked.
    surveys = {view: four_language_survey(audience, f"Visit {view[0]} {view[1]}") for view in VIEWS}
    for lang, device in VIEWS:
        survey = surveys[lang, device]
        page = _signed_in(open_page, live_server, xm_manager, lang, device)
        page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/")
        frame = page.frame_locator("#xm-preview-frame")
        frame.locator(".pv-q[data-key=nps]").wait_for()
        name = f"languages-{lang}-{device}"
        german, arabic, russian = NAMES[lang]

        # The languages by name in the admin's language, the survey's own ticked.
        ticks = page.locator(".xm-language-ticks")
        expect(ticks.locator("label", has_text=german).locator("input")).to_be_checked()
        expect(ticks.locator("label", has_text=russian).locator("input")).not_to_be_checked()

        # A column per language for the choices; Arabic's inputs are right to left.
        reason = page.locator(".xm-card", has=page.locator("input[value=reason]"))
        table = reason.locator(".xm-choice-rows")
        expect(table.locator("thead th[data-lang]")).to_have_text(["TR", "EN", "DE", "AR"])
        arabic_input = table.locator("[name$='-choices-label_ar']").first
        expect(arabic_input).to_have_value("السعر")
        expect(arabic_input).to_have_attribute("dir", "rtl")
        expect(page.locator("[name=title_ar]")).to_have_attribute("dir", "rtl")
        reason.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{name}-choices.png"), full_page=False)

        # Every column can be reached and typed in, on a phone too (the table scrolls).
        german_input = table.locator("[name$='-choices-label_de']").nth(1)
        german_input.fill("Schnelligkeit")
        expect(german_input).to_be_in_viewport()

        # Russian added by its tag: its inputs, choice column and preview tab appear at once.
        page.fill("#id_languages_other", "ru")
        page.locator("#id_languages_other").press("Tab")
        expect(page.locator("[name=title_ru]")).to_be_visible()
        expect(ticks.locator("label", has_text=russian).locator("input")).to_be_checked()
        expect(page.locator("#id_languages_other")).to_have_value("")
        expect(table.locator("thead th[data-lang=ru]")).to_have_text("RU")
        page.locator(".field-languages").screenshot(path=str(shots / f"{name}-languages.png"))
        page.fill("[name=title_ru]", "Ваш визит")
        for key, text in (
            ("nps", "Порекомендуете нас?"),
            ("reason", "Причина"),
            ("improve", "Что улучшить?"),
        ):
            card = page.locator(".xm-card", has=page.locator(f"input[value={key}]"))
            card.locator(".xm-field-label [name$='-label_ru']").fill(text)
        for i, text in enumerate(("Цена", "Скорость")):
            table.locator("[name$='-choices-label_ru']").nth(i).fill(text)
        improve = page.locator(".xm-card", has=page.locator("input[value=improve]"))
        improve.locator(".xm-field-label [name$='-label_de']").fill("Was sollten wir verbessern?")
        improve.locator(".xm-field-label [name$='-label_ar']").fill("ما الذي يجب أن نحسنه؟")

        # The preview switches language; Arabic is right to left.
        completeness = page.locator("#xm-completeness")
        expect(completeness.locator("li[data-lang=ru]")).to_contain_text("6/6")
        page.locator(".xm-preview-tab", has_text=german).click()
        expect(frame.locator("html")).to_have_attribute("lang", "de")
        expect(frame.locator(".pv-q[data-key=reason] .pv-choices li")).to_have_text(
            ["Preis", "Schnelligkeit"]
        )
        page.locator(".xm-preview-tab", has_text=arabic).click()
        expect(frame.locator("html")).to_have_attribute("dir", "rtl")
        expect(frame.locator(".pv-q[data-key=nps] .pv-label")).to_contain_text(NPS["ar"])
        page.locator(".xm-preview-tab", has_text=russian).click()
        expect(frame.locator("html")).to_have_attribute("lang", "ru")
        expect(frame.locator(".pv-brand")).to_have_text("Ваш визит")
        page.locator(".xm-preview-tabs").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"{name}-preview.png"))

        page.focus("input[name=_continue]")
        page.keyboard.press("Enter")
        expect(page.locator(".messagelist .success")).to_be_visible()
        page.locator(".field-languages").screenshot(path=str(shots / f"{name}-saved.png"))
        survey.refresh_from_db()
        assert survey.languages == [*FOUR, "ru"]
        assert survey.title["ru"] == "Ваш визит"
        saved = Question.objects.get(survey=survey, key="reason").choices
        assert [c["label"]["de"] for c in saved] == ["Preis", "Schnelligkeit"]
        assert [c["label"]["ru"] for c in saved] == ["Цена", "Скорость"]
        page.context.close()
