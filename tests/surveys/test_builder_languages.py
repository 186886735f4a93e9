"""The builder in the survey's own languages: any language tag, one input per survey language
for every text, right-to-left inputs marked, texts of a language taken off kept."""

import re

import pytest
from django.urls import reverse

from surveys.models import Question, Survey
from tests.surveys.test_admin_builder import question_rows, survey_data
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions
from tests.surveys.test_hosted_support import invite, url

pytestmark = pytest.mark.django_db

FOUR = ["tr", "en", "de", "ar"]
TITLES = {"tr": "Ziyaretiniz", "en": "Your visit", "de": "Ihr Besuch", "ar": "زيارتك"}
NPS = {
    "tr": "Bizi tavsiye eder misiniz?",
    "en": "Recommend us?",
    "de": "Würden Sie uns empfehlen?",
    "ar": "هل توصي بنا؟",
}
REASON = {"tr": "Ana neden", "en": "Main reason", "de": "Hauptgrund", "ar": "السبب الرئيسي"}
IMPROVE = {
    "tr": "Neyi iyileştirmeliyiz?",
    "en": "What should we improve?",
    "de": "Was sollten wir verbessern?",
    "ar": "ما الذي يجب أن نحسنه؟",
}
CHOICE_LABELS = {
    "price": {"tr": "Fiyat", "en": "Price", "de": "Preis", "ar": "السعر"},
    "speed": {"tr": "Hız", "en": "Speed", "de": "Schnelligkeit", "ar": "السرعة"},
}
KLINGON_ERROR = (
    "“klingon!” is not a language code. Use an IETF language tag such as tr, en, de, ar, ru or "
    "ku-Arab (at most 8 characters)."
)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


def change_url(survey: Survey) -> str:
    return reverse("admin:surveys_survey_change", args=[survey.pk])


def input_tag(html: str, name: str) -> str:
    """The first <input> named `name` in `html`."""
    found = re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*>', html)
    assert found, name
    return found[0]


def texts_post(name: str, texts: dict[str, str], codes: list[str]) -> dict[str, str]:
    return {f"{name}_{code}": texts.get(code, "") for code in codes}


def builder_post(
    survey: Survey, *, ticked: list[str], other: str = "", codes: list[str], **extra: str
) -> dict:
    """The change form as a browser posts it, with texts in `codes` (the inputs shown)."""
    questions = {q.key: q for q in survey.questions.all()}
    rows = []
    for key, labels in (("nps", NPS), ("reason", REASON), ("improve", IMPROVE)):
        q = questions[key]
        rows.append(
            {
                "id": str(q.pk),
                "survey": str(survey.pk),
                "order": str(q.order),
                "page": str(q.page),
                "key": key,
                "type": q.type,
                "required": "on" if q.required else None,
                "multiline": "on" if q.multiline else None,
                "show_if": ""
                if key != "improve"
                else '{"question": "nps", "op": "lte", "value": 6}',
                **texts_post("label", labels, codes),
                **texts_post("help", {}, codes),
            }
        )
    data = {
        **survey_data(
            survey.audience,
            name=survey.name,
            status=survey.status,
            languages=ticked,
            default_language=survey.default_language,
        ),
        **texts_post("title", TITLES, codes),
        **texts_post("intro", {}, codes),
        **texts_post("thank_you", {}, codes),
        "languages_other": other,
        **question_rows(rows, initial=3),
        "questions-1-choices-value": ["price", "speed", ""],
    }
    for key in ("title_en", "title_tr", "thank_you_en", "thank_you_tr", "intro_en", "intro_tr"):
        if key.rpartition("_")[2] not in codes:
            data.pop(key, None)
    for code in ("en", "tr"):
        data.pop(f"questions-1-choices-label_{code}", None)
    for code in codes:
        data[f"questions-1-choices-label_{code}"] = [
            CHOICE_LABELS["price"][code],
            CHOICE_LABELS["speed"][code],
            "",
        ]
    data.update(extra)
    return data


def test_a_four_language_survey_is_edited_and_answered_in_german(admin_client, client):
    survey = survey_with_questions(languages=FOUR, default_language="tr")

    form = admin_client.get(change_url(survey)).content.decode()
    page = admin_client.post(change_url(survey), builder_post(survey, ticked=FOUR, codes=FOUR))

    # One input per survey language, Arabic written right to left, each choice column too.
    assert 'lang="de" placeholder="German"' in input_tag(form, "title_de")
    assert "dir" not in input_tag(form, "questions-0-label_de")
    assert 'lang="ar" placeholder="Arabic" dir="rtl"' in input_tag(form, "questions-0-label_ar")
    assert 'lang="ar" dir="rtl"' in input_tag(form, "questions-1-choices-label_ar")
    assert '<th scope="col" data-lang="de" lang="de" title="German">DE</th>' in form
    assert page.status_code == 302, page.context and page.context["errors"]
    survey.refresh_from_db()
    assert survey.languages == FOUR
    assert survey.title == TITLES
    reason = Question.objects.get(survey=survey, key="reason")
    assert reason.label == REASON
    assert reason.choices == [
        {"value": value, "label": labels} for value, labels in CHOICE_LABELS.items()
    ]

    _invitation, token = invite(survey, language="de")
    hosted = client.get(url(token)).content.decode()
    assert '<html lang="de"' in hosted
    for text in (TITLES["de"], NPS["de"], REASON["de"], "Preis", "Schnelligkeit"):
        assert text in hosted
    assert NPS["tr"] not in hosted


def test_a_language_is_added_with_its_texts_in_one_save(admin_client):
    survey = survey_with_questions(languages=["tr", "en"])

    page = admin_client.post(
        change_url(survey),
        builder_post(survey, ticked=["tr", "en"], other="de", codes=["tr", "en", "de"]),
    )

    assert page.status_code == 302, page.context and page.context["errors"]
    survey.refresh_from_db()
    assert survey.languages == ["tr", "en", "de"]
    assert survey.title["de"] == "Ihr Besuch"
    assert Question.objects.get(survey=survey, key="nps").label["de"] == NPS["de"]
    reason = Question.objects.get(survey=survey, key="reason")
    assert [c["label"]["de"] for c in reason.choices] == ["Preis", "Schnelligkeit"]


def test_a_language_added_without_its_texts_is_shown_for_them(admin_client):
    survey = survey_with_questions(languages=["tr", "en"])
    data = builder_post(survey, ticked=["tr", "en", "de"], codes=["tr", "en"])

    page = admin_client.post(change_url(survey), data)

    # Without JavaScript the page comes back with inputs for the new language to fill.
    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["title"] == [
        "Give the title in every survey language (missing: de)."
    ]
    assert 'name="title_de"' in html and 'name="questions-0-label_de"' in html
    survey.refresh_from_db()
    assert survey.languages == ["tr", "en"]


def test_a_bad_language_tag_is_refused_and_nothing_typed_is_lost(admin_client):
    survey = survey_with_questions(languages=["tr", "en"])
    data = builder_post(survey, ticked=["tr", "en"], other="de, klingon!", codes=["tr", "en", "de"])

    page = admin_client.post(change_url(survey), data)

    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["adminform"].form.errors["languages"] == [KLINGON_ERROR]
    assert 'name="languages_other" id="id_languages_other" value="klingon!"' in html
    assert 'name="languages" value="de" id="id_languages_2" checked' in html
    assert 'value="Ihr Besuch"' in input_tag(html, "title_de")
    assert f'value="{NPS["de"]}"' in html
    assert 'value="Schnelligkeit"' in html
    survey.refresh_from_db()
    assert (survey.languages, survey.title) == (
        ["tr", "en"],
        {"en": "Your visit", "tr": "Ziyaretiniz"},
    )


def test_language_tags_are_written_in_their_standard_spelling(admin_client):
    survey = survey_with_questions(languages=["tr", "en"])
    data = builder_post(survey, ticked=["tr", "en"], other="PT_br", codes=["tr", "en"])
    data["title_pt-BR"] = "Sua visita"
    data["questions-1-choices-label_pt-BR"] = ["Preço", "Rapidez", ""]
    for index, text in enumerate(("Recomendaria?", "Motivo principal", "O que melhorar?")):
        data[f"questions-{index}-label_pt-BR"] = text

    page = admin_client.post(change_url(survey), data)

    assert page.status_code == 302, page.context and page.context["errors"]
    survey.refresh_from_db()
    assert survey.languages == ["tr", "en", "pt-BR"]
    assert survey.title["pt-BR"] == "Sua visita"


def test_the_default_language_must_be_a_survey_language(admin_client):
    survey = survey_with_questions(languages=["tr", "en"])
    refused = builder_post(survey, ticked=["tr", "en"], codes=["tr", "en"], default_language="de")
    taken = builder_post(survey, ticked=FOUR, codes=FOUR, default_language="ar")

    first = admin_client.post(change_url(survey), refused)
    second = admin_client.post(change_url(survey), taken)

    assert first.context["adminform"].form.errors["default_language"] == [
        "The default language must be one of the survey languages."
    ]
    assert second.status_code == 302, second.context and second.context["errors"]
    survey.refresh_from_db()
    assert survey.default_language == "ar"


def test_texts_of_a_language_taken_off_are_kept_and_come_back(admin_client):
    survey = survey_with_questions(languages=FOUR)
    admin_client.post(change_url(survey), builder_post(survey, ticked=FOUR, codes=FOUR))

    # "ar" is unticked; the page still had its inputs, so its texts are posted with the form.
    page = admin_client.post(
        change_url(survey), builder_post(survey, ticked=["tr", "en", "de"], codes=FOUR)
    )
    survey.refresh_from_db()
    form = admin_client.get(change_url(survey)).content.decode()

    assert page.status_code == 302, page.context and page.context["errors"]
    assert survey.languages == ["tr", "en", "de"]
    assert survey.title["ar"] == TITLES["ar"]
    assert Question.objects.get(survey=survey, key="nps").label["ar"] == NPS["ar"]
    # Kept out of sight: hidden inputs carry them through the next saves.
    assert 'name="title_ar" lang="ar"' not in form
    assert f'<input type="hidden" name="title_ar" value="{TITLES["ar"]}"' in form
    assert '<input type="hidden" name="questions-1-choices-label_ar" value="السعر"' in form

    kept = builder_post(survey, ticked=["tr", "en", "de"], codes=["tr", "en", "de"])
    kept.update(title_ar=TITLES["ar"], **{"questions-0-label_ar": NPS["ar"]})
    kept["questions-1-choices-label_ar"] = ["السعر", "السرعة", ""]
    assert admin_client.post(change_url(survey), kept).status_code == 302
    back = builder_post(survey, ticked=FOUR, codes=["tr", "en", "de"])
    back.update(title_ar=TITLES["ar"], **{"questions-0-label_ar": NPS["ar"]})
    back["questions-1-choices-label_ar"] = ["السعر", "السرعة", ""]
    back.update({f"questions-{i}-label_ar": v for i, v in ((1, REASON["ar"]), (2, IMPROVE["ar"]))})
    restored = admin_client.post(change_url(survey), back)

    assert restored.status_code == 302, restored.context and restored.context["errors"]
    survey.refresh_from_db()
    assert survey.languages == FOUR
    assert survey.title["ar"] == TITLES["ar"]
    assert Question.objects.get(survey=survey, key="reason").choices[0]["label"]["ar"] == "السعر"


def test_languages_are_offered_by_name_in_the_admins_language(admin_client):
    survey = survey_with_questions(languages=FOUR)

    turkish = admin_client.get(change_url(survey), HTTP_ACCEPT_LANGUAGE="tr").content.decode()

    assert (
        'value="de" id="id_languages_2" checked> Almanca <span class="xm-code">de</span>' in turkish
    )
    assert 'value="fr" id="id_languages_' in turkish and "> Fransızca <" in turkish
    assert '<option value="ar">Arapça (ar)</option>' in turkish
    assert 'class="xm-preview-tab" title="Arapça">Arapça</a>' in turkish


def test_the_preview_and_completeness_follow_the_posted_languages(admin_client):
    survey = survey_with_questions(languages=["tr", "en"])
    data = builder_post(survey, ticked=["tr", "en"], other="de, ar", codes=FOUR)
    data["questions-2-label_ar"] = ""
    preview = reverse("admin:surveys_survey_builder_preview", args=[survey.pk])

    arabic = admin_client.post(f"{preview}?lang=ar", data).json()
    german = admin_client.post(f"{preview}?lang=de", data).json()

    assert '<html lang="ar" dir="rtl">' in arabic["html"]
    assert NPS["ar"] in arabic["html"] and "“improve” has no label" in arabic["html"]
    assert '<html lang="de" dir="ltr">' in german["html"]
    # No German catalogue: the page's own words are English, as on the hosted pages.
    assert "Schnelligkeit" in german["html"] and "Next" in german["html"]
    # Title, three labels and two choices per language; the Arabic "improve" label missing.
    counts = re.findall(r"<strong>(\w+)</strong> (\d/\d)", german["completeness"])
    assert counts == [("Turkish", "6/6"), ("English", "6/6"), ("German", "6/6"), ("Arabic", "5/6")]
