"""The builder's copy of a survey, its translation completeness and preview, and its save
through the authoring service (versions)."""

import json

import pytest
from django.urls import reverse

from surveys.admin.builder_preview import completeness, draft_from_survey
from surveys.models import Invitation, Question, Response, Survey, SurveyStatus
from tests.surveys.test_admin_builder import existing_rows, question_rows, survey_post
from tests.surveys.test_admin_support import PLAIN_STATIC, add_response, survey_with_questions

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


def change_url(survey: Survey) -> str:
    return reverse("admin:surveys_survey_change", args=[survey.pk])


# --- Copy ----------------------------------------------------------------------------------


def test_copy_is_a_draft_with_the_questions_and_texts_but_no_responses(admin_client):
    survey = survey_with_questions(status=SurveyStatus.LIVE)
    add_response(survey, {"nps": 9})

    page = admin_client.post(reverse("admin:surveys_survey_copy", args=[survey.pk]))

    copy = Survey.objects.exclude(pk=survey.pk).get()
    assert page.status_code == 302
    assert page["Location"] == change_url(copy)
    assert (copy.name, copy.status, copy.version) == ("Visit (copy)", SurveyStatus.DRAFT, 1)
    assert (copy.languages, copy.title, copy.audience_id) == (
        survey.languages,
        survey.title,
        survey.audience_id,
    )
    fields = ("key", "type", "page", "order", "label", "choices", "show_if", "required")
    assert list(copy.questions.order_by("order").values(*fields)) == list(
        survey.questions.order_by("order").values(*fields)
    )
    assert Response.objects.filter(survey=copy).count() == 0
    assert Invitation.objects.filter(survey=copy).count() == 0


def test_copy_action_copies_each_selected_survey(admin_client):
    one = survey_with_questions(name="One")
    two = survey_with_questions(one.audience, name="Two")

    admin_client.post(
        "/admin/surveys/survey/",
        {"action": "copy_surveys", "_selected_action": [one.pk, two.pk]},
    )

    assert sorted(Survey.objects.values_list("name", flat=True)) == [
        "One",
        "One (copy)",
        "Two",
        "Two (copy)",
    ]


def test_copy_is_refused_by_get_and_to_an_outsider(client, admin_client, outsider):
    survey = survey_with_questions()
    url = reverse("admin:surveys_survey_copy", args=[survey.pk])

    assert admin_client.get(url).status_code == 405
    client.force_login(outsider)
    assert client.post(url).status_code in (302, 403, 404)
    assert Survey.objects.count() == 1


# --- Translation completeness --------------------------------------------------------------


def test_completeness_counts_each_language_and_names_what_is_missing():
    survey = survey_with_questions()
    reason = survey.questions.get(key="reason")
    reason.label = {"en": "Main reason"}
    reason.choices = [{"value": "price", "label": {"tr": "Fiyat"}}, *reason.choices[1:]]
    reason.save()

    figures = {c["code"]: c for c in completeness(draft_from_survey(survey))}

    # title, 3 labels, 2 choices (intro/thank-you/help empty in every language: not needed)
    assert (figures["tr"]["filled"], figures["tr"]["total"]) == (5, 6)
    assert figures["tr"]["missing"] == ["“reason”: label"]
    assert (figures["en"]["filled"], figures["en"]["total"]) == (5, 6)
    assert figures["en"]["missing"] == ["“reason”: choice “price”"]


def test_change_page_shows_completeness_per_language(admin_client):
    survey = survey_with_questions()
    nps = survey.questions.get(key="nps")
    nps.label = {"tr": nps.label["tr"]}
    nps.save()

    html = admin_client.get(change_url(survey)).content.decode()

    assert "<strong>English</strong> 5/6</summary>" in html
    assert "<li>“nps”: label</li>" in html
    assert "<strong>Turkish</strong> 6/6" in html


# --- Preview -------------------------------------------------------------------------------


def test_preview_shows_unsaved_edits_in_the_chosen_language(admin_client):
    survey = survey_with_questions()
    rows = existing_rows(survey)
    rows[0]["label_en"] = "Would you recommend us, really?"
    data = {**survey_post(survey), **question_rows(rows, initial=3)}
    url = reverse("admin:surveys_survey_builder_preview", args=[survey.pk])

    answer = admin_client.post(f"{url}?lang=en", data)
    saved = admin_client.get(f"{url}?lang=tr")

    preview = json.loads(answer.content)
    assert "Would you recommend us, really?" in preview["html"]
    assert "Shown only when nps is at most 6" in preview["html"]
    assert "English</strong> 7/7" in preview["completeness"]
    assert saved.status_code == 200
    assert "Bizi tavsiye eder misiniz?" in saved.content.decode()
    assert saved["X-Frame-Options"] == "SAMEORIGIN"
    assert survey.questions.get(key="nps").label["en"] == "Recommend us?"


def test_preview_is_refused_to_an_outsider(client, outsider):
    survey = survey_with_questions()
    client.force_login(outsider)

    page = client.get(reverse("admin:surveys_survey_builder_preview", args=[survey.pk]))

    assert page.status_code in (302, 403, 404)


# --- Saved through the authoring service ---------------------------------------------------


def test_type_change_of_an_answered_question_is_refused_on_its_card(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 9, "reason": "price"})
    rows = existing_rows(survey)
    rows[1]["type"] = "multiple_choice"

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 200
    errors = page.context["inline_admin_formsets"][0].formset.forms[1].errors
    assert errors["type"] == [
        "“reason” already has answers, so its type stays Single choice; add a question with a "
        "new key to ask it another way."
    ]
    assert survey.questions.get(key="reason").type == "single_choice"


def test_deleting_an_answered_question_retires_it_in_a_new_version(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 9, "improve": "Faster"})
    rows = existing_rows(survey)
    rows[2]["DELETE"] = "on"

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 302, (
        page.context["adminform"].form.errors,
        page.context["inline_admin_formsets"][0].formset.non_form_errors(),
    )
    improve = Question.objects.get(survey=survey, key="improve")
    survey.refresh_from_db()
    assert (improve.retired_in, survey.version) == (2, 2)
    html = admin_client.get(change_url(survey)).content.decode()
    assert 'value="improve"' not in html
