"""A signed public link's hidden fields in a real Chromium: the order id piped into the
question, a question shown for one store, both stored with the response; a changed link is
refused with a page that says so. Turkish and English, phone and desktop."""

import pytest

from surveys import hidden_fields
from surveys.models import PublicLink, QuestionType, Response
from tests.support.browser import VIEWS
from tests.surveys.test_hosted_support import add_question, make_survey

TEXTS = {
    "tr": {
        "question": "A-{n} numaralı siparişiniz nasıldı?",
        "store": "Kadıköy mağazamız hakkında ne söylersiniz?",
        "submit": "Gönder",
        "thanks": "Çok teşekkürler!",
    },
    "en": {
        "question": "How was your order A-{n}?",
        "store": "Anything about our Kadıköy store?",
        "submit": "Submit",
        "thanks": "Thanks a lot!",
        "changed": "This link has been changed",
    },
}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_signed_link_pipes_its_order_id_and_keeps_it_with_the_response(
    live_server, open_page, shots
):
    survey = make_survey(hidden_fields=["order_id", "store"])
    add_question(
        survey,
        "csat",
        QuestionType.CSAT,
        label={
            "en": "How was your order {order_id}?",
            "tr": "{order_id} numaralı siparişiniz nasıldı?",
        },
    )
    add_question(
        survey,
        "store_note",
        QuestionType.TEXT,
        order=2,
        required=False,
        label={
            "en": "Anything about our {store} store?",
            "tr": "{store} mağazamız hakkında ne söylersiniz?",
        },
        show_if={"field": "store", "op": "eq", "value": "Kadıköy"},
    )
    link = PublicLink.objects.create(survey=survey, slug="orders", signing_secret="k" * 64)
    base = f"{live_server.url}/p/{link.slug}/"
    for n, (lang, device) in enumerate(VIEWS, start=1):
        words = TEXTS[lang]
        name = f"hidden-{lang}-{device}"
        page = open_page(lang, device)
        values = {"order_id": f"A-{n}", "store": "Kadıköy"}
        signed = hidden_fields.signed_url(base, secret=link.signing_secret, values=values)
        if (lang, device) == ("en", "phone"):  # a changed link is refused, and says so
            refused = page.goto(signed.replace(f"A-{n}", "A-9"))
            assert refused is not None and refused.status == 400
            assert page.locator("#message-heading").inner_text() == words["changed"]
            page.screenshot(path=str(shots / f"{name}-0-changed.png"), full_page=True)

        page.goto(f"{signed}&lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        text = " ".join(page.locator("legend").all_inner_texts())
        assert words["question"].format(n=n) in text, text
        assert words["store"] in page.content()
        assert "{" not in page.locator("main").inner_text()
        page.screenshot(path=str(shots / f"{name}-1-question.png"), full_page=True)

        page.click("label[for=q-csat-4]")
        page.fill("textarea[name=q-store_note], input[name=q-store_note]", "Güler yüzlü")
        page.get_by_role("button", name=words["submit"]).click()
        page.wait_for_selector("#message-heading")
        assert page.locator("#message-heading").inner_text() == words["thanks"]
        page.screenshot(path=str(shots / f"{name}-2-thanks.png"), full_page=True)

    stored = sorted(Response.objects.values_list("data", flat=True), key=lambda d: d["order_id"])
    assert stored == [{"order_id": f"A-{n}", "store": "Kadıköy"} for n in range(1, 5)]
