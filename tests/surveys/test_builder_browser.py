"""The survey builder in a real browser, in Turkish and English, on a phone and a desktop:
add a question card, move it (dragged on the desktop, with its ↑ button on the phone), edit its
choice rows, build a "show when" rule from the offered controls, watch the preview follow, save."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from surveys.models import Question, QuestionType
from tests.factories import make_audience
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions

LABELS = {
    "en": ("Which topic was it about?", "Billing", "Delivery"),
    "tr": ("Hangi konuyla ilgiliydi?", "Fatura", "Teslimat"),
}


def _signed_in(open_page, live_server, user, lang: str, device: str):  # noqa: ANN001, ANN202
    client = Client()
    client.force_login(user)
    page = open_page(lang, device)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_builder_builds_a_question_with_choices_and_a_rule(
    live_server, open_page, shots, settings, xm_manager
):
    settings.STORAGES = PLAIN_STATIC
    audience = make_audience()
    for lang in ("tr", "en"):
        for device in ("phone", "desktop"):
            survey = survey_with_questions(audience, name=f"Visit {lang} {device}")
            page = _signed_in(open_page, live_server, xm_manager, lang, device)
            page.goto(f"{live_server.url}/admin/surveys/survey/{survey.pk}/change/")
            page.frame_locator("#xm-preview-frame").locator(".pv-q[data-key=nps]").wait_for()
            name = f"builder-{lang}-{device}"

            # Add a card: it lands at the end of the last page (page 2, after "improve").
            page.click(".xm-add-question")
            prefix = page.locator(".xm-card").last.get_attribute("data-prefix")
            card = page.locator(f".xm-card[data-prefix='{prefix}']")
            card.locator(".xm-field-key input").fill("topic")
            card.locator(".xm-type").select_option(QuestionType.SINGLE_CHOICE)
            question, first, second = LABELS[lang]
            other = "en" if lang == "tr" else "tr"
            card.locator(f"[name='{prefix}-label_{lang}']").fill(question)
            card.locator(f"[name='{prefix}-label_{other}']").fill(LABELS[other][0])

            # Choice rows: one column per language; a third row added, then removed.
            rows = card.locator(".xm-choice-row")
            assert rows.count() == 2
            for row, (value, texts) in zip(
                rows.all(),
                [("billing", (first, LABELS[other][1])), ("delivery", (second, LABELS[other][2]))],
                strict=True,
            ):
                row.locator(".xm-choice-value").fill(value)
                row.locator(f"[name='{prefix}-choices-label_{lang}']").fill(texts[0])
                row.locator(f"[name='{prefix}-choices-label_{other}']").fill(texts[1])
            card.locator(".xm-choice-add").click()
            assert rows.count() == 3
            rows.nth(2).locator(".xm-choice-remove").click()
            assert rows.count() == 2

            # Move it above "improve": dragged by its handle on the desktop, ↑ on the phone.
            improve = page.locator(".xm-card", has=page.locator("input[value=improve]"))
            if device == "desktop":
                # Both in view, away from the edges where the list scrolls itself mid-drag.
                improve.evaluate("card => card.scrollIntoView({block: 'center'})")
                handle = card.locator(".xm-handle").bounding_box()
                target = improve.locator(".xm-card-head").bounding_box()
                page.mouse.move(handle["x"] + 5, handle["y"] + 5)
                page.mouse.down()
                x, y = target["x"] + 20, target["y"] + 5
                page.mouse.move(x, y, steps=12)
                # Sortable starts a drag a moment after the first moves and moves the card on the
                # next one: on a busy machine the steps can all come first, so the pointer stirs
                # where it rests (a stir over the moved card changes nothing), then the drop
                # waits for the 150 ms slide.
                for dy in (1, 0, 1):
                    page.wait_for_timeout(150)
                    page.mouse.move(x, y + dy)
                page.wait_for_timeout(300)
                page.mouse.up()
            else:
                card.locator(".xm-move-up").click()
                # Announced a moment later (the live region is emptied first, then filled).
                expect(page.locator("#xm-announce")).to_contain_text("2")
            keys = page.locator(".xm-page").nth(1).locator(".xm-field-key input")
            expect(keys.first).to_have_value("topic")
            assert [k.input_value() for k in keys.all()] == ["topic", "improve"]
            assert card.locator(".xm-page-input").input_value() == "2"

            # "Show when": only page-1 questions are offered, NPS only with scale operators.
            condition = card.locator(".xm-condition").first
            offered = condition.locator(".xm-cond-question option").evaluate_all(
                "os => os.map(o => o.value)"
            )
            assert offered == ["", "nps", "reason"]
            condition.locator(".xm-cond-question").select_option("nps")
            operators = condition.locator(".xm-cond-op option").evaluate_all(
                "os => os.map(o => o.value)"
            )
            assert operators == ["eq", "neq", "lt", "lte", "gt", "gte", "answered", "not_answered"]
            condition.locator(".xm-cond-op").select_option("lte")
            values = condition.locator(".xm-value-pick option").evaluate_all(
                "os => os.map(o => o.value)"
            )
            assert values == ["", *[str(n) for n in range(11)]]
            condition.locator(".xm-value-pick").select_option("6")
            card.scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{name}-card.png"), full_page=False)

            # The preview follows the unsaved edits, in each language tab.
            frame = page.frame_locator("#xm-preview-frame")
            topic_preview = frame.locator(".pv-q[data-key=topic]")
            topic_preview.locator(".pv-rule").wait_for()
            page.click(f".xm-preview-tab[data-lang={other}]")
            frame.locator(f"html[lang={other}] .pv-q[data-key=topic]").wait_for()
            assert topic_preview.locator(".pv-label").inner_text().startswith(LABELS[other][0])
            page.click(f".xm-preview-tab[data-lang={lang}]")
            frame.locator(f"html[lang={lang}] .pv-q[data-key=topic]").wait_for()
            assert topic_preview.locator(".pv-choices li").all_inner_texts() == [first, second]
            page.locator(".xm-preview").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{name}-preview.png"), full_page=device == "phone")

            page.focus("input[name=_continue]")
            page.keyboard.press("Enter")
            page.wait_for_selector(".messagelist .success")
            page.screenshot(path=str(shots / f"{name}-saved.png"), full_page=True)
            topic = Question.objects.get(survey=survey, key="topic")
            assert (topic.page, topic.show_if) == (2, {"question": "nps", "op": "lte", "value": 6})
            assert [c["value"] for c in topic.choices] == ["billing", "delivery"]
            assert topic.choices[0]["label"] == {lang: first, other: LABELS[other][1]}
            assert list(
                survey.questions.filter(page=2).order_by("order").values_list("key", flat=True)
            ) == ["topic", "improve"]
            page.context.close()
