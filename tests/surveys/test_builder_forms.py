"""The builder's forms without a browser: choice rows, "show when" rows, order as posted, and
the plain (no JavaScript) post of page and order numbers."""

import pytest
from django.urls import reverse

from surveys.admin.builder_widgets import ChoiceRowsField, ShowIfField, ShowIfWidget
from surveys.models import Question, QuestionType, Survey
from tests.factories import make_audience
from tests.surveys.test_admin_builder import (
    IMPROVE_ROW,
    NPS_ROW,
    REASON_ROW,
    existing_rows,
    question_rows,
    survey_data,
    survey_post,
)
from tests.surveys.test_admin_support import CHOICES, PLAIN_STATIC, survey_with_questions

pytestmark = pytest.mark.django_db
ADD = "/admin/surveys/survey/add/"


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    settings.STORAGES = PLAIN_STATIC


@pytest.fixture
def admin_client(client, xm_manager):
    client.force_login(xm_manager)
    return client


def change_url(survey: Survey) -> str:
    return reverse("admin:surveys_survey_change", args=[survey.pk])


# --- Choice rows ---------------------------------------------------------------------------


def test_choice_rows_round_trip_to_the_stored_format():
    field = ChoiceRowsField()
    posted = {
        "c-value": ["price", " speed ", "", ""],
        "c-label_en": ["Price", "Speed", "", ""],
        "c-label_tr": ["Fiyat", "Hız", "", ""],
    }

    rows = field.widget.value_from_datadict(posted, {}, "c")
    html = field.widget.render("c", CHOICES)

    assert field.clean(rows) == CHOICES
    assert 'name="c-value" value="price"' in html
    assert 'name="c-label_tr" value="Hız"' in html
    assert html.count('class="xm-choice-row"') == 4  # two choices, two empty rows to fill
    assert field.has_changed(CHOICES, rows) is False


def test_a_labelled_choice_row_without_a_value_is_refused():
    field = ChoiceRowsField()
    rows = field.widget.value_from_datadict(
        {"c-value": ["price", ""], "c-label_en": ["Price", "Speed"], "c-label_tr": ["", ""]},
        {},
        "c",
    )

    with pytest.raises(Exception) as refused:
        field.clean(rows)

    assert refused.value.messages == [
        "Choice row 2 has a label but no value; give it a short value."
    ]


# --- "Show when" rows ----------------------------------------------------------------------


def rule_post(name: str, rows: list[tuple[str, str, str]], join: str = "all") -> dict:
    return {
        f"{name}-join": join,
        f"{name}-question": [r[0] for r in rows],
        f"{name}-op": [r[1] for r in rows],
        f"{name}-value": [r[2] for r in rows],
    }


def test_show_when_rows_make_a_condition_or_a_group():
    field = ShowIfField()
    widget = ShowIfWidget()

    one = widget.value_from_datadict(rule_post("s", [("nps", "lte", "6"), ("", "eq", "")]), {}, "s")
    two = widget.value_from_datadict(
        rule_post("s", [("nps", "gte", "7"), ("nps", "lte", "8")], join="any"), {}, "s"
    )
    none = widget.value_from_datadict(rule_post("s", [("", "eq", "")]), {}, "s")

    assert field.clean(one) == {"question": "nps", "op": "lte", "value": "6"}
    assert field.clean(two) == {
        "any": [
            {"question": "nps", "op": "gte", "value": "7"},
            {"question": "nps", "op": "lte", "value": "8"},
        ]
    }
    assert field.clean(none) is None


def test_show_when_keeps_a_rule_the_rows_cannot_show():
    nested = {"any": [{"all": [{"question": "nps", "op": "gte", "value": 7}]}]}
    html = ShowIfWidget().render("s", nested)

    assert 'name="s-kept"' in html
    posted = {"s-kept": '{"any": [{"all": [{"question": "nps", "op": "gte", "value": 7}]}]}'}
    kept = ShowIfWidget().value_from_datadict({**posted, "s-question": [""]}, {}, "s")
    assert ShowIfField().clean(kept) == nested


def test_builder_saves_a_show_when_rule_with_a_number_for_a_scale(admin_client):
    audience = make_audience()
    improve = {**IMPROVE_ROW, "show_if": '{"question": "nps", "op": "lte", "value": "6"}'}

    page = admin_client.post(ADD, {**survey_data(audience), **question_rows([NPS_ROW, improve])})

    assert page.status_code == 302
    assert Question.objects.get(key="improve").show_if == {
        "question": "nps",
        "op": "lte",
        "value": 6,
    }


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            '{"question": "reason", "op": "lt", "value": "price"}',
            "“reason” is a Single choice question; “is less than” does not apply to it.",
        ),
        (
            '{"question": "reason", "op": "eq", "value": "colour"}',
            "“colour” is not one of the choices of “reason”.",
        ),
        (
            '{"question": "nps", "op": "eq", "value": "11"}',
            "“nps” is answered from 0 to 10; choose a number in it.",
        ),
        (
            '{"question": "nps", "op": "contains", "value": "3"}',
            "“nps” is a NPS (0–10) question; “includes” does not apply to it.",
        ),
        (
            '{"question": "later", "op": "answered"}',
            "The condition refers to “later”, which is not on an earlier page.",
        ),
    ],
)
def test_show_when_combinations_that_cannot_work_are_refused(admin_client, rule, message):
    audience = make_audience()
    improve = {**IMPROVE_ROW, "show_if": rule}
    later = {**NPS_ROW, "key": "later", "page": "3", "required": None}

    page = admin_client.post(
        ADD,
        {**survey_data(audience), **question_rows([NPS_ROW, REASON_ROW, improve, later])},
    )

    assert page.status_code == 200
    errors = page.context["inline_admin_formsets"][0].formset.forms[2].errors
    assert errors["show_if"] == [message]
    assert message in page.content.decode()
    assert Survey.objects.count() == 0


def test_a_value_missing_in_a_show_when_row_is_named():
    widget = ShowIfWidget()
    posted = widget.value_from_datadict(rule_post("s", [("nps", "lte", "")]), {}, "s")

    with pytest.raises(Exception) as refused:
        ShowIfField().clean(posted)

    assert refused.value.messages == ["Choose the value “nps” is at most."]


# --- Order and pages -----------------------------------------------------------------------


def test_cards_are_saved_in_the_posted_page_and_order(admin_client):
    survey = survey_with_questions()
    rows = existing_rows(survey)  # nps (1, p1), reason (2, p1), improve (3, p2)
    by_key = {row["key"]: row for row in rows}
    # Dragged: "reason" to page 2 after "improve"; the page numbers written by the script.
    by_key["nps"].update(order="1", page="1")
    by_key["improve"].update(order="2", page="2")
    by_key["reason"].update(order="3", page="2")

    page = admin_client.post(
        change_url(survey), {**survey_post(survey), **question_rows(rows, initial=3)}
    )

    assert page.status_code == 302
    assert list(survey.questions.order_by("page", "order").values_list("key", "page")) == [
        ("nps", 1),
        ("improve", 2),
        ("reason", 2),
    ]


def test_change_page_groups_cards_under_page_headings_without_javascript(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()

    assert html.split("<template")[0].count('<section class="xm-page"') == 2
    assert ">Page 1</h3>" in html and ">Page 2</h3>" in html
    # The plain form keeps page and order inputs (hidden by the script when it runs).
    assert 'name="questions-2-page" value="2"' in html
    assert '<div class="xm-fields-row xm-nojs">' in html
    # "Show when" offers only questions on earlier pages: none for page 1, page 1's for page 2.
    card = html.split('id="questions-2"')[1].split("</article>")[0]
    assert '<option value="nps"' in card and '<option value="reason"' in card
    first = html.split('id="questions-0"')[1].split("</article>")[0]
    assert '<option value="reason"' not in first


def test_a_new_card_without_javascript_starts_on_the_last_page(admin_client):
    survey = survey_with_questions()

    html = admin_client.get(change_url(survey)).content.decode()

    assert 'name="questions-3-page" value="2"' in html
    assert 'name="questions-3-order" value="4"' in html


def test_plain_post_without_script_fields_still_saves(admin_client):
    """A browser without JavaScript posts the numbers as typed and no value picker."""
    audience = make_audience()
    rows = [NPS_ROW, {**REASON_ROW, "page": "2", "order": "5"}]

    page = admin_client.post(ADD, {**survey_data(audience), **question_rows(rows)})

    assert page.status_code == 302
    reason = Question.objects.get(key="reason")
    assert (reason.page, reason.order, reason.type) == (2, 5, QuestionType.SINGLE_CHOICE)
