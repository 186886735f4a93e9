"""The hosted survey pages: pages, display logic, languages, refusals, resume, opt-out."""

import datetime

import pytest
from django.utils import timezone

from audiences.models import Channel, Consent, ConsentStatus
from surveys.hosted.languages import pick_text
from surveys.models import Answer, InvitationState, Response, SurveyStatus
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    plain_static_files,
    three_page_survey,
    url,
)

pytestmark = pytest.mark.django_db


def test_first_page_shows_the_nps_question_in_the_person_language(client):
    survey = three_page_survey()
    _, token = invite(survey, language="tr")

    page = client.get(url(token))

    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="tr">' in html
    assert "Bizi bir arkadaşınıza tavsiye etme olasılığınız nedir?" in html
    # Page 2 depends on the NPS answer: counted until the answer hides it.
    assert "Sayfa 1 / 3" in html
    assert ">İleri</button>" in html
    assert page.headers["Content-Language"] == "tr"
    assert "no-store" in page.headers["Cache-Control"]
    assert html.count('type="radio" id="q-nps-') == 11


def test_english_person_gets_english_texts(client):
    survey = three_page_survey()
    _, token = invite(survey, language="en")

    html = client.get(url(token)).content.decode()

    assert '<html lang="en">' in html
    assert "How likely are you to recommend us to a friend?" in html
    assert "Page 1 of 3" in html
    assert ">Next</button>" in html


def test_language_switcher_overrides_the_person_language(client):
    survey = three_page_survey()
    _, token = invite(survey, language="tr")

    html = client.get(url(token) + "?lang=en").content.decode()

    assert "How likely are you to recommend us to a friend?" in html
    assert f'href="/s/{token}/?lang=tr&amp;page=1"' in html


def test_accept_language_picks_among_the_survey_languages_when_the_invitation_has_none(client):
    survey = three_page_survey()
    invitation, token = invite(survey, language="de")

    html = client.get(url(token), HTTP_ACCEPT_LANGUAGE="de-DE,en;q=0.8").content.decode()

    assert invitation.language == ""
    assert '<html lang="en">' in html


def test_survey_default_language_when_nothing_matches(client):
    survey = three_page_survey(languages=["tr", "en"], default_language="tr")
    _, token = invite(survey, language="de")

    html = client.get(url(token), HTTP_ACCEPT_LANGUAGE="fr").content.decode()

    assert '<html lang="tr">' in html


def test_detractor_is_asked_what_to_improve_and_not_what_they_liked(client):
    survey = three_page_survey()
    _, token = invite(survey)

    first = client.post(url(token), {"page": "1", "q-nps": "3"})
    second = client.get(first["Location"])

    assert first.status_code == 302
    assert first["Location"] == f"/s/{token}/?page=2&lang=tr"
    html = second.content.decode()
    assert "Neyi iyileştirmeliyiz?" in html
    assert "Neyi beğendiniz?" not in html
    assert "Sayfa 2 / 3" in html


def test_passive_skips_the_whole_second_page(client):
    survey = three_page_survey()
    _, token = invite(survey)

    first = client.post(url(token), {"page": "1", "q-nps": "8"})

    assert first["Location"] == f"/s/{token}/?page=3&lang=tr"
    html = client.get(first["Location"]).content.decode()
    assert "Sayfa 2 / 2" in html
    assert ">Gönder</button>" in html


def test_full_run_stores_typed_answers_and_marks_the_invitation_responded(client):
    survey = three_page_survey()
    invitation, token = invite(survey, segment="gold")

    client.post(url(token), {"page": "1", "q-nps": "10"})
    client.post(url(token), {"page": "2", "q-liked": "  Hızlı teslimat  "})
    done = client.post(url(token), {"page": "3", "q-csat": "4", "q-reason": "speed"})
    thanks = client.get(done["Location"])

    assert done["Location"] == f"/s/{token}/?done=1&lang=tr"
    assert thanks.status_code == 200
    assert "Çok teşekkürler!" in thanks.content.decode()
    response = Response.objects.get()
    invitation.refresh_from_db()
    assert response.invitation == invitation
    assert response.person == invitation.person
    assert response.segment == "gold"
    assert response.channel == Channel.EMAIL
    assert response.language == "tr"
    assert response.audience == survey.audience
    assert response.completed_at is not None
    assert response.completed_on == timezone.localdate(response.completed_at)
    assert invitation.state == InvitationState.RESPONDED
    answers = {
        a.question.key: (a.number, a.text, a.choices)
        for a in Answer.objects.select_related("question")
    }
    assert answers == {
        "nps": (10, "", None),
        "liked": (None, "Hızlı teslimat", None),
        "csat": (4, "", None),
        "reason": (None, "speed", ["speed"]),
    }


def test_changing_nps_drops_the_answer_of_the_question_it_hides(client):
    survey = three_page_survey()
    _, token = invite(survey)
    client.post(url(token), {"page": "1", "q-nps": "2"})
    client.post(url(token), {"page": "2", "q-improve": "Daha hızlı olun"})

    client.post(url(token), {"page": "1", "q-nps": "9"})
    client.post(url(token), {"page": "2", "q-liked": "Güler yüz"})
    client.post(url(token), {"page": "3", "q-csat": "5", "q-reason": "staff"})

    keys = sorted(Answer.objects.values_list("question__key", flat=True))
    assert keys == ["csat", "liked", "nps", "reason"]


def test_hidden_required_question_does_not_block(client):
    survey = three_page_survey()
    _, token = invite(survey)
    client.post(url(token), {"page": "1", "q-nps": "7"})

    done = client.post(url(token), {"page": "3", "q-csat": "3", "q-reason": "price"})

    assert done.status_code == 302
    assert Response.objects.get().completed_on is not None


def test_required_question_missing_shows_the_error_next_to_it_in_turkish(client):
    survey = three_page_survey()
    _, token = invite(survey)

    page = client.post(url(token), {"page": "1"})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="q-nps-error"' in html
    assert "Lütfen bu soruyu yanıtlayın." in html
    assert Response.objects.count() == 0


def test_reopening_resumes_at_the_first_unfinished_page_with_answers_prefilled(client):
    survey = three_page_survey()
    _, token = invite(survey)
    client.post(url(token), {"page": "1", "q-nps": "4"})

    resumed = client.get(url(token))
    first = client.get(url(token) + "?page=1")
    ahead = client.get(url(token) + "?page=3")

    assert "Neyi iyileştirmeliyiz?" in resumed.content.decode()
    assert 'value="4" checked' in first.content.decode()
    assert "Neyi iyileştirmeliyiz?" in ahead.content.decode()


def test_partial_answers_are_saved_before_completion(client):
    survey = three_page_survey()
    _, token = invite(survey)

    client.post(url(token), {"page": "1", "q-nps": "6"})

    response = Response.objects.get()
    assert response.completed_on is None
    assert list(Answer.objects.values_list("question__key", "number")) == [("nps", 6)]


def test_opening_marks_a_sent_invitation_opened_once(client):
    survey = three_page_survey()
    invitation, token = invite(survey, state=InvitationState.SENT)

    client.get(url(token))
    invitation.refresh_from_db()
    first_open = invitation.opened_at
    client.get(url(token))
    invitation.refresh_from_db()

    assert invitation.state == InvitationState.OPENED
    assert first_open is not None
    assert invitation.opened_at == first_open


def test_opening_a_delivery_unknown_invitation_marks_it_opened(client):
    survey = three_page_survey()
    invitation, token = invite(survey, state=InvitationState.DELIVERY_UNKNOWN)

    client.get(url(token))
    invitation.refresh_from_db()

    assert invitation.state == InvitationState.OPENED


def test_second_submit_keeps_one_response_and_shows_the_thank_you_page(client):
    survey = three_page_survey()
    _, token = invite(survey)
    client.post(url(token), {"page": "1", "q-nps": "8"})
    client.post(url(token), {"page": "3", "q-csat": "4", "q-reason": "price"})

    again = client.post(url(token), {"page": "3", "q-csat": "1", "q-reason": "staff"})
    back = client.get(url(token) + "?page=1")

    assert again.status_code == 200
    assert "Bu anketi zaten yanıtladınız" in again.content.decode()
    assert "Bu anketi zaten yanıtladınız" in back.content.decode()
    assert Response.objects.count() == 1
    assert sorted(Answer.objects.values_list("question__key", "number", "text")) == [
        ("csat", 4, ""),
        ("nps", 8, ""),
        ("reason", None, "price"),
    ]


def test_unknown_token_is_a_polite_404(client):
    page = client.get("/s/" + "A" * 32 + "/", HTTP_ACCEPT_LANGUAGE="tr")

    assert page.status_code == 404
    assert "Anket bulunamadı" in page.content.decode()


def test_malformed_token_is_a_polite_404(client):
    assert client.get("/s/%00%ff<script>/").status_code == 404


def test_expired_invitation_is_a_polite_410(client):
    survey = three_page_survey()
    _, token = invite(survey, expires_at=timezone.now() - datetime.timedelta(minutes=1))

    page = client.get(url(token))
    post = client.post(url(token), {"page": "1", "q-nps": "9"})

    assert page.status_code == 410
    assert "Bu anket bağlantısının süresi doldu" in page.content.decode()
    assert post.status_code == 410
    assert Response.objects.count() == 0


def test_closed_survey_is_a_polite_410(client):
    survey = three_page_survey(status=SurveyStatus.CLOSED)
    _, token = invite(survey)

    page = client.get(url(token))

    assert page.status_code == 410
    assert "Bu anket kapandı" in page.content.decode()


def test_survey_past_its_closing_time_is_a_polite_410(client):
    survey = three_page_survey(closes_at=timezone.now() - datetime.timedelta(seconds=1))
    _, token = invite(survey)

    assert client.get(url(token)).status_code == 410


def test_survey_over_its_response_limit_is_a_polite_410(client):
    survey = three_page_survey(response_limit=1)
    _, first = invite(survey, external_id="p-1")
    _, second = invite(survey, external_id="p-2")
    client.post(url(first), {"page": "1", "q-nps": "8"})
    client.post(url(first), {"page": "3", "q-csat": "4", "q-reason": "price"})

    page = client.get(url(second))

    assert page.status_code == 410
    assert "Bu anket ihtiyaç duyduğu tüm yanıtları aldı" in page.content.decode()


def test_suppressed_invitation_is_a_polite_410(client):
    survey = three_page_survey()
    _, token = invite(survey, state=InvitationState.SUPPRESSED)

    assert client.get(url(token)).status_code == 410


def test_user_text_is_escaped(client):
    survey = three_page_survey(title={"tr": "<script>alert(1)</script>"})
    _, token = invite(survey)
    client.post(url(token), {"page": "1", "q-nps": "2"})

    page = client.post(url(token), {"page": "2", "q-improve": "x" * 5001 + "<b>bold</b>"})

    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_every_page_has_the_opt_out_link(client):
    survey = three_page_survey()
    _, token = invite(survey)

    html = client.get(url(token)).content.decode()

    assert f'href="/s/{token}/optout/?lang=tr"' in html


def test_opt_out_page_asks_for_confirmation_first(client):
    survey = three_page_survey()
    invitation, token = invite(survey)

    page = client.get(f"/s/{token}/optout/")

    assert page.status_code == 200
    assert "Abonelikten çık" in page.content.decode()
    assert Consent.objects.filter(person=invitation.person).count() == 0


def test_opt_out_withdraws_consent_on_every_channel(client):
    survey = three_page_survey()
    invitation, token = invite(survey)
    Consent.objects.create(
        person=invitation.person, channel=Channel.EMAIL, status=ConsentStatus.GRANTED
    )

    page = client.post(f"/s/{token}/optout/")

    assert page.status_code == 200
    assert "Abonelikten çıktınız" in page.content.decode()
    consents = dict(
        Consent.objects.filter(person=invitation.person).values_list("channel", "status")
    )
    assert consents == {c.value: ConsentStatus.WITHDRAWN for c in Channel}


@pytest.mark.parametrize(
    "data",
    [
        {"page": "abc", "q-nps": "3"},
        {"page": "99", "q-nps": "3"},
        {"q-nps": "3"},
        {"page": "1", "q-nps": "\x00"},
        {"page": "1", "q-nps": ["1", "2"]},
    ],
    ids=["page-not-a-number", "page-unknown", "no-page", "nul", "two-values"],
)
def test_garbage_posts_never_fail_and_store_nothing_wrong(client, data):
    survey = three_page_survey()
    _, token = invite(survey)

    reply = client.post(url(token), data)

    assert reply.status_code in (200, 302)
    assert Response.objects.filter(completed_on__isnull=False).count() == 0
    assert list(Answer.objects.values_list("question__key", flat=True)) == []


def test_garbage_page_parameter_on_get_shows_the_resume_page(client):
    survey = three_page_survey()
    _, token = invite(survey)

    page = client.get(url(token) + "?page=%00abc&lang=xx")

    assert page.status_code == 200
    assert "Bizi bir arkadaşınıza tavsiye etme olasılığınız nedir?" in page.content.decode()


def test_posting_the_last_page_first_sends_back_to_the_unanswered_required_question(client):
    survey = three_page_survey()
    _, token = invite(survey)

    reply = client.post(url(token), {"page": "3", "q-csat": "4", "q-reason": "price"})

    assert reply.status_code == 302
    assert reply["Location"] == f"/s/{token}/?page=1&lang=tr"
    assert Response.objects.get().completed_on is None


def test_texts_fall_back_to_the_default_language_then_to_any():
    assert pick_text({"en": "Hello", "tr": "Merhaba"}, "tr", "en") == "Merhaba"
    assert pick_text({"en": "Hello", "tr": ""}, "tr", "en") == "Hello"
    assert pick_text({"de": "Hallo"}, "tr", "en") == "Hallo"
    assert pick_text({}, "tr", "en") == ""
    assert pick_text("plain", "tr", "en") == "plain"


def test_english_page_shows_a_label_written_only_in_turkish(client):
    survey = three_page_survey()
    survey.questions.filter(key="nps").update(label={"tr": "Sadece Türkçe soru"})
    _, token = invite(survey, language="en")

    html = client.get(url(token)).content.decode()

    assert '<html lang="en">' in html
    assert "Sadece Türkçe soru" in html
    assert ">Next</button>" in html


@pytest.mark.parametrize("show_if", [["nps"], "nps", {"all": ["x"]}, {"any": [1, 2]}])
def test_malformed_display_logic_hides_the_question_instead_of_failing(client, show_if):
    survey = three_page_survey()
    survey.questions.filter(key="improve").update(show_if=show_if)
    _, token = invite(survey)

    reply = client.post(url(token), {"page": "1", "q-nps": "2"})

    assert reply.status_code == 302
    assert reply["Location"] == f"/s/{token}/?page=3&lang=tr"
