"""The survey builder in the admin: changelist, inline questions, validation, anonymity."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences.models import AudienceKind
from surveys.models import PriorityClass, Question, QuestionType, Survey, SurveyStatus
from tests.factories import make_audience
from tests.surveys.test_admin_support import (
    CHOICES,
    PLAIN_STATIC,
    add_response,
    survey_with_questions,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/surveys/survey/"
ADD = "/admin/surveys/survey/add/"


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Render {% static %} without a collected manifest (the PostgreSQL pass runs DEBUG off)."""
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


def change_url(survey: Survey) -> str:
    return reverse("admin:surveys_survey_change", args=[survey.pk])


def survey_data(audience, **overrides) -> dict:
    data = {
        "name": "Store visit",
        "audience": str(audience.pk),
        "touchpoint": "",
        "status": SurveyStatus.DRAFT,
        "priority_class": str(PriorityClass.RELATIONSHIP),
        "reporting_period": "auto",
        "languages": ["en", "tr"],
        "default_language": "tr",
        "title_en": "Your visit",
        "title_tr": "Ziyaretiniz",
        "intro_en": "",
        "intro_tr": "",
        "thank_you_en": "Thanks!",
        "thank_you_tr": "Teşekkürler!",
        "opens_at_0": "",
        "opens_at_1": "",
        "closes_at_0": "",
        "closes_at_1": "",
        "response_limit": "",
    }
    data.update(overrides)
    return data


def question_rows(rows: list[dict], initial: int = 0) -> dict:
    """The inline formset's POST data; a row value of None leaves the field out (a checkbox)."""
    data = {
        "questions-TOTAL_FORMS": str(len(rows)),
        "questions-INITIAL_FORMS": str(initial),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        values = {
            "id": "",
            "order": str(i + 1),
            "page": "1",
            "required": "on",
            "scale_max": "",
            "multiline": None,
            "help_en": "",
            "help_tr": "",
            "choices": "",
            "show_if": "",
            **row,
        }
        data.update(choice_rows(f"questions-{i}-choices", values.pop("choices")))
        data.update(show_when_rows(f"questions-{i}-show_if", values.pop("show_if")))
        for name, value in values.items():
            if value is not None:
                data[f"questions-{i}-{name}"] = value
    return data


def choice_rows(name: str, lines: str) -> dict:
    """The choice rows' POST data for `value | English | Türkçe` lines."""
    rows = [[part.strip() for part in line.split("|")] for line in lines.splitlines() if line]
    return {
        f"{name}-value": [row[0] for row in rows] + [""],
        f"{name}-label_en": [(row + ["", ""])[1] for row in rows] + [""],
        f"{name}-label_tr": [(row + ["", ""])[2] for row in rows] + [""],
    }


def show_when_rows(name: str, rule: str) -> dict:
    """The "show when" rows' POST data for a rule given as JSON (one level of all/any)."""
    rule = json.loads(rule) if rule else None
    join = "any" if rule and "any" in rule else "all"
    conditions = (rule.get(join) or [rule]) if rule else []
    return {
        f"{name}-join": join,
        f"{name}-question": [c["question"] for c in conditions] + [""],
        f"{name}-op": [c["op"] for c in conditions] + ["eq"],
        f"{name}-value": [str(c.get("value", "")) for c in conditions] + [""],
    }


NPS_ROW = {
    "key": "nps",
    "type": QuestionType.NPS,
    "label_en": "How likely are you to recommend us?",
    "label_tr": "Bizi tavsiye etme olasılığınız nedir?",
}
IMPROVE_ROW = {
    "key": "improve",
    "type": QuestionType.TEXT,
    "page": "2",
    "required": None,
    "multiline": "on",
    "label_en": "What should we improve?",
    "label_tr": "Neyi iyileştirmeliyiz?",
    "show_if": '{"question": "nps", "op": "lte", "value": 6}',
}
REASON_ROW = {
    "key": "reason",
    "type": QuestionType.SINGLE_CHOICE,
    "required": None,
    "label_en": "Main reason",
    "label_tr": "Ana neden",
    "choices": "price | Price | Fiyat\nspeed | Speed | Hız",
}


def existing_rows(survey: Survey) -> list[dict]:
    """POST rows that resubmit the survey's questions unchanged, as the change page shows them."""
    rows = []
    for q in survey.questions.order_by("order"):
        rows.append(
            {
                "id": str(q.pk),
                "survey": str(survey.pk),
                "order": str(q.order),
                "page": str(q.page),
                "key": q.key,
                "type": q.type,
                "required": "on" if q.required else None,
                "multiline": "on" if q.multiline else None,
                "scale_max": "" if q.scale_max is None else str(q.scale_max),
                "label_en": q.label.get("en", ""),
                "label_tr": q.label.get("tr", ""),
                "choices": "\n".join(
                    f"{c['value']} | {c['label']['en']} | {c['label']['tr']}" for c in q.choices
                ),
                "show_if": "" if q.show_if is None else json.dumps(q.show_if),
            }
        )
    return rows


def survey_post(survey: Survey) -> dict:
    return survey_data(
        survey.audience,
        name=survey.name,
        status=survey.status,
        languages=list(survey.languages),
        title_en=survey.title.get("en", ""),
        title_tr=survey.title.get("tr", ""),
    )


# --- Changelist ----------------------------------------------------------------------------


def test_changelist_shows_estimated_time_and_completed_responses(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 9})
    add_response(survey, {"nps": 3, "improve": "Daha hızlı"})
    unfinished = add_response(survey, {"nps": 5})
    unfinished.completed_on = None
    unfinished.save()

    page = admin_client.get(CHANGELIST)

    html = page.content.decode()
    assert page.status_code == 200
    # NPS 5 s + single choice 6 s + long text 45 s + 2 pages × 5 s = 66 s
    assert '<td class="field-estimated_time">1:06</td>' in html
    assert '<td class="field-response_count">2</td>' in html
    assert 'id="xm-from-template"' in html


def count_changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CHANGELIST).status_code == 200
    return len(captured)


def test_changelist_query_count_does_not_grow_with_surveys(admin_client):
    audience = make_audience()
    survey_with_questions(audience, name="One")
    few = count_changelist_queries(admin_client)
    for n in range(8):
        survey = survey_with_questions(audience, name=f"Survey {n}")
        add_response(survey, {"nps": n})

    many = count_changelist_queries(admin_client)

    # session, user, the audience filter's choices, the paginator's count, the full count,
    # ONE query for the rows (audience joined, response count as a subquery), and one for the
    # page's questions (the estimated time): nothing per row.
    assert many == few == 7


def test_changelist_filters_by_audience_and_status(admin_client):
    customers = make_audience()
    fans = make_audience("fans", AudienceKind.FAN)
    survey_with_questions(customers, name="Customer visit")
    survey_with_questions(fans, name="Match day", status=SurveyStatus.DRAFT)

    by_audience = admin_client.get(CHANGELIST, {"audience__id__exact": fans.pk}).content.decode()
    by_status = admin_client.get(CHANGELIST, {"status__exact": "live"}).content.decode()

    assert ">Match day</a>" in by_audience and ">Customer visit</a>" not in by_audience
    assert ">Customer visit</a>" in by_status and ">Match day</a>" not in by_status


def test_long_survey_is_flagged_as_fatiguing(admin_client):
    survey = survey_with_questions()
    Question.objects.bulk_create(
        [
            Question(
                survey=survey,
                order=10 + n,
                page=3,
                key=f"story_{n}",
                type=QuestionType.TEXT,
                multiline=True,
                required=False,
                label={"en": f"Tell us more {n}", "tr": f"Biraz daha anlatın {n}"},
            )
            for n in range(3)
        ]
    )

    change = admin_client.get(change_url(survey)).content.decode()
    listing = admin_client.get(CHANGELIST).content.decode()

    # 66 s + 3 long texts × 45 s + 1 more page × 5 s = 206 s
    assert "Estimated completion time: 3:26 (min:s)." in change
    assert "<strong>Over 3 minutes: fatiguing, shorten it.</strong>" in change
    assert "⚠ 3:26</span>" in listing


def test_short_survey_has_no_warning(admin_client):
    survey = survey_with_questions()

    change = admin_client.get(change_url(survey)).content.decode()

    assert "Estimated completion time: 1:06 (min:s)." in change
    assert "fatiguing" not in change.split('id="xm-estimate"')[1].split("</p>")[0].replace(
        'class="xm-estimate"', ""
    )


def test_change_page_links_preview_in_a_new_tab_and_exports(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()

    assert (
        f'<a href="/s/preview/{survey.pk}/" target="_blank" rel="noopener" id="xm-preview-link">'
        in html
    )
    assert f'href="/admin/surveys/survey/{survey.pk}/export/csv/"' in html
    assert f'href="/admin/surveys/survey/{survey.pk}/export/xlsx/"' in html


def test_outsider_cannot_open_the_builder(client, outsider):
    client.force_login(outsider)

    page = client.get(CHANGELIST)

    assert page.status_code == 302
    assert page["Location"].startswith("/admin/login/")


# --- Saving through the inline formset -----------------------------------------------------


def test_builder_saves_a_survey_with_its_questions(admin_client):
    audience = make_audience()

    page = admin_client.post(
        ADD, {**survey_data(audience), **question_rows([NPS_ROW, REASON_ROW, IMPROVE_ROW])}
    )

    assert page.status_code == 302, page.context and page.context["errors"]
    survey = Survey.objects.get()
    assert survey.title == {"en": "Your visit", "tr": "Ziyaretiniz"}
    assert survey.intro == {}
    assert survey.thank_you == {"en": "Thanks!", "tr": "Teşekkürler!"}
    assert survey.languages == ["en", "tr"]
    questions = list(survey.questions.order_by("order"))
    assert [(q.order, q.page, q.key, q.type, q.required) for q in questions] == [
        (1, 1, "nps", "nps", True),
        (2, 1, "reason", "single_choice", False),
        (3, 2, "improve", "text", False),
    ]
    assert questions[0].label == {
        "en": "How likely are you to recommend us?",
        "tr": "Bizi tavsiye etme olasılığınız nedir?",
    }
    assert questions[0].help == {}
    assert questions[1].choices == CHOICES
    assert questions[2].show_if == {"question": "nps", "op": "lte", "value": 6}
    assert questions[2].multiline is True


def test_same_page_reference_is_refused_and_nothing_is_saved(admin_client):
    audience = make_audience()
    same_page = {**IMPROVE_ROW, "page": "1"}

    page = admin_client.post(ADD, {**survey_data(audience), **question_rows([NPS_ROW, same_page])})

    html = page.content.decode()
    assert page.status_code == 200
    assert "The condition refers to “nps”, which is not on an earlier page." in html
    assert "Fix the display logic of the questions marked below." in html
    inline = page.context["inline_admin_formsets"][0].formset
    assert inline.forms[1].errors == {
        "show_if": ["The condition refers to “nps”, which is not on an earlier page."]
    }
    assert Survey.objects.count() == 0
    assert Question.objects.count() == 0


def test_changed_row_with_unsatisfiable_logic_keeps_the_saved_survey(admin_client):
    survey = survey_with_questions()
    rows = existing_rows(survey)
    rows[2]["show_if"] = '{"question": "nps", "op": "gte", "value": 11}'
    rows[0]["label_en"] = "Changed but not saved"

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 200
    inline = page.context["inline_admin_formsets"][0].formset
    assert inline.forms[2].errors == {
        "show_if": ["“nps” is answered from 0 to 10; choose a number in it."]
    }
    improve = survey.questions.get(key="improve")
    assert improve.show_if == {"question": "nps", "op": "lte", "value": 6}
    assert survey.questions.get(key="nps").label["en"] == "Recommend us?"


def test_deleting_a_question_others_depend_on_is_refused(admin_client):
    survey = survey_with_questions()
    rows = existing_rows(survey)
    rows[0]["DELETE"] = "on"

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 200
    inline = page.context["inline_admin_formsets"][0].formset
    assert inline.forms[2].errors == {
        "show_if": ["The condition refers to an unknown question “nps”."]
    }
    assert survey.questions.count() == 3


def test_deleted_rows_are_ignored_by_the_logic_check(admin_client):
    survey = survey_with_questions()
    rows = existing_rows(survey)
    rows[2]["show_if"] = '{"question": "nps", "op": "gte", "value": 11}'
    rows[2]["DELETE"] = "on"

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 302
    assert sorted(survey.questions.values_list("key", flat=True)) == ["nps", "reason"]


def test_new_row_can_depend_on_a_new_row(admin_client):
    survey = survey_with_questions()
    rows = existing_rows(survey)
    rows.append({**NPS_ROW, "key": "csat", "type": QuestionType.CSAT, "order": "4", "page": "3"})
    rows.append(
        {
            **IMPROVE_ROW,
            "key": "why_low",
            "order": "5",
            "page": "4",
            "show_if": '{"question": "csat", "op": "lte", "value": 2}',
        }
    )

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 302
    assert survey.questions.get(key="why_low").show_if == {
        "question": "csat",
        "op": "lte",
        "value": 2,
    }


def test_choices_round_trip_through_the_change_page(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()
    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(existing_rows(survey), 3)}
    )

    assert 'name="questions-1-choices-value" value="price"' in html
    assert 'name="questions-1-choices-label_tr" value="Hız"' in html
    assert page.status_code == 302
    assert survey.questions.get(key="reason").choices == CHOICES


def test_translated_inputs_are_shown_per_language(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()

    assert 'name="questions-0-label_en" value="Recommend us?"' in html
    assert 'name="questions-0-label_tr" value="Bizi tavsiye eder misiniz?"' in html
    assert 'name="title_tr" value="Ziyaretiniz"' in html


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            {**REASON_ROW, "choices": "price | Price | Fiyat"},
            "choices",
            "A choice question needs at least two choices.",
        ),
        (
            {**REASON_ROW, "choices": "price | Price | Fiyat\nprice | Cost | Maliyet"},
            "choices",
            "The choice value “price” appears twice.",
        ),
        (
            {**REASON_ROW, "choices": "price | Price\nspeed | Speed | Hız"},
            "choices",
            "The choice “price” needs a label in: tr.",
        ),
        (
            {**NPS_ROW, "key": "ces", "type": QuestionType.CES, "scale_max": "6"},
            "scale_max",
            "A CES scale has 5 or 7 points.",
        ),
        (
            {**NPS_ROW, "key": "stars", "type": QuestionType.RATING, "scale_max": "11"},
            "scale_max",
            "A rating has from 2 to 10 stars.",
        ),
        (
            {**NPS_ROW, "key": "stars", "type": QuestionType.RATING, "scale_max": "1"},
            "scale_max",
            "A rating has from 2 to 10 stars.",
        ),
        ({**NPS_ROW, "key": "other", "label_tr": ""}, "label", None),
        ({**NPS_ROW, "key": "nps"}, "key", "Another question already uses the key “nps”."),
    ],
)
def test_invalid_question_rows_are_refused(admin_client, row, field, message):
    audience = make_audience()

    page = admin_client.post(ADD, {**survey_data(audience), **question_rows([NPS_ROW, row])})

    assert page.status_code == 200
    errors = page.context["inline_admin_formsets"][0].formset.forms[1].errors
    expected = message or "Give the label in every survey language (missing: tr)."
    assert errors[field] == [expected]
    assert Survey.objects.count() == 0


def test_rating_scale_between_two_and_ten_is_accepted(admin_client):
    audience = make_audience()
    stars = {**NPS_ROW, "key": "stars", "type": QuestionType.RATING, "scale_max": "10"}
    ces = {**NPS_ROW, "key": "ces", "type": QuestionType.CES, "scale_max": "5"}

    page = admin_client.post(ADD, {**survey_data(audience), **question_rows([stars, ces])})

    assert page.status_code == 302
    assert dict(Question.objects.values_list("key", "scale_max")) == {"stars": 10, "ces": 5}


def test_survey_title_is_needed_in_every_survey_language(admin_client):
    audience = make_audience()

    page = admin_client.post(
        ADD, {**survey_data(audience, title_tr=""), **question_rows([NPS_ROW])}
    )

    assert page.status_code == 200
    assert page.context["adminform"].form.errors["title"] == [
        "Give the title in every survey language (missing: tr)."
    ]
    assert Survey.objects.count() == 0


def test_english_only_survey_needs_english_labels_only(admin_client):
    audience = make_audience()
    english = {**NPS_ROW, "label_tr": ""}

    page = admin_client.post(
        ADD,
        {
            **survey_data(audience, languages=["en"], default_language="en", title_tr=""),
            **question_rows([english]),
        },
    )

    assert page.status_code == 302
    assert Question.objects.get().label == {"en": "How likely are you to recommend us?"}


def test_anonymity_cannot_change_once_responses_exist(admin_client):
    survey = survey_with_questions()
    add_response(survey, {"nps": 9})

    page = admin_client.post(
        change_url(survey),
        {
            **survey_post(survey),
            "anonymous": "on",
            **question_rows(existing_rows(survey), initial=3),
        },
    )

    assert page.status_code == 200
    assert page.context["adminform"].form.errors["anonymous"] == [
        "This survey already has responses; copy it to change whether it is anonymous."
    ]
    survey.refresh_from_db()
    assert survey.anonymous is False


def test_anonymity_can_change_before_any_response(admin_client):
    survey = survey_with_questions()

    page = admin_client.post(
        change_url(survey),
        {
            **survey_post(survey),
            "anonymous": "on",
            **question_rows(existing_rows(survey), initial=3),
        },
    )

    assert page.status_code == 302
    survey.refresh_from_db()
    assert survey.anonymous is True


def test_each_language_input_carries_a_visible_language_tag(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()

    assert '<label class="xm-lang" for="id_questions-0-label_tr" title="Turkish">TR</label>' in html
    assert 'lang="tr"' in html
    assert '<label class="xm-lang" for="id_title_en" title="English">EN</label>' in html


def test_empty_display_logic_is_shown_as_always_shown(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()

    assert "null" not in html.split('name="questions-0-show_if-join"')[1].split("</article>")[0]
    assert '<option value="" selected>(always shown)</option>' in html
