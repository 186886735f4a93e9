"""Any survey language: codes checked, the page's own words from a catalogue or English, the
language switch in each language's own name, right-to-left languages marked so."""

import pytest
from django.core.exceptions import ValidationError

from surveys.languages import is_rtl, own_name
from tests.hosted.support import languages_survey, one_question_survey
from tests.surveys.test_hosted_support import invite, make_survey, url


@pytest.mark.django_db
def test_a_survey_takes_any_language_code():
    languages = ["de", "ar", "ru", "ku", "ku-Arab", "pt-BR"]
    survey = make_survey(languages=languages, default_language="de")
    survey.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("languages", "default", "field", "message"),
    [
        (["tr", "english"], "tr", "languages", "“english” is not a language code."),
        (["tr", "xx"], "tr", "languages", "“xx” is not a language code."),
        (["pt_BR"], "pt-BR", "languages", "Write the language code “pt_BR” as “pt-BR”."),
        (["de", "de"], "de", "languages", "The language “de” is listed twice."),
        ("de", "de", "languages", "Give the survey's languages as a list of language codes"),
        (["de"], "klingon", "default_language", "“klingon” is not a language code."),
    ],
)
def test_nonsense_language_codes_are_refused_with_a_clear_message(
    languages, default, field, message
):
    survey = make_survey()
    survey.languages, survey.default_language = languages, default
    with pytest.raises(ValidationError) as refused:
        survey.full_clean()
    assert field in refused.value.message_dict
    assert any(text.startswith(message) for text in refused.value.message_dict[field])


def test_languages_have_their_own_names_and_directions():
    assert [own_name(c) for c in ("de", "ar", "tr", "en", "ru")] == [
        "Deutsch",
        "العربية",
        "Türkçe",
        "English",
        "Русский",
    ]
    assert [is_rtl(c) for c in ("ar", "he", "fa", "ur", "ku-Arab", "ckb")] == [True] * 6
    assert [is_rtl(c) for c in ("de", "tr", "ku", "ru", "en")] == [False] * 5


@pytest.mark.django_db
def test_a_german_survey_speaks_german_with_english_buttons(client):
    survey = languages_survey(["de", "en"], "de")
    _invitation, token = invite(survey, language="de")
    page = client.get(url(token), HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    body = page.content.decode()
    assert '<html lang="de">' in body
    assert page["Content-Language"] == "de"
    assert "Recommend? [de]" in body
    # No German catalogue: the page's own words fall back to English, not to a mix.
    assert ">Submit<" in body
    assert "Not at all likely" in body
    # ... and say so, for screen readers to read them in English.
    assert '<div class="actions" lang="en">' in body
    assert '<footer class="foot wrap" lang="en">' in body
    # The switch names each language in itself.
    assert ">Deutsch</a>" in body
    assert ">English</a>" in body


@pytest.mark.django_db
def test_turkish_and_english_pages_use_their_catalogues(client):
    survey = languages_survey(["tr", "en"], "tr")
    _invitation, token = invite(survey, language="tr")
    turkish = client.get(url(token) + "?lang=tr").content.decode()
    assert ">Gönder<" in turkish
    assert ">Submit<" in client.get(url(token) + "?lang=en").content.decode()
    assert '<div class="actions">' in turkish  # the page's words are the page's language


@pytest.mark.django_db
def test_errors_and_thanks_fall_back_to_english_too(client):
    survey = languages_survey(["ru"], "ru")
    _invitation, token = invite(survey, language="ru")
    refused = client.post(url(token), {"page": 1, "lang": "ru"}).content.decode()
    assert "Please answer this question." in refused
    assert "Recommend? [ru]" in refused
    done = client.post(url(token), {"page": 1, "lang": "ru", "q-nps": "8"})
    thanked = client.get(done["Location"])
    assert thanked["Content-Language"] == "ru"
    thanks = thanked.content.decode()
    assert "Thanks [ru]" in thanks
    assert '<html lang="ru">' in thanks


@pytest.mark.django_db
def test_right_to_left_languages_render_right_to_left(client):
    survey = one_question_survey()
    _invitation, token = invite(survey, language="ar")
    arabic = client.get(url(token)).content.decode()
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "ما مدى احتمال أن توصي بنا لصديق؟" in arabic
    assert ">العربية</a>" in arabic
    english = client.get(url(token) + "?lang=en").content.decode()
    assert '<html lang="en">' in english


@pytest.mark.django_db
def test_a_language_the_survey_does_not_offer_is_not_shown(client):
    survey = languages_survey(["de", "en"], "de")
    _invitation, token = invite(survey, language="tr")
    body = client.get(url(token) + "?lang=tr", HTTP_ACCEPT_LANGUAGE="tr").content.decode()
    assert '<html lang="de">' in body
