"""New surveys from a template in the admin, and the estimated completion time it shows."""

import pytest
from django.urls import reverse

from audiences.models import AudienceKind
from surveys.catalog import TEMPLATES, survey_create_from_template
from surveys.models import PriorityClass, Question, Survey
from surveys.selectors import FATIGUE_SECONDS, estimated_seconds, survey_estimated_seconds
from tests.factories import make_audience, make_touchpoint
from tests.surveys.test_admin_support import PLAIN_STATIC, survey_with_questions

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/surveys/survey/"


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


# --- New survey from a template ------------------------------------------------------------


def test_template_page_creates_a_draft_and_opens_it(admin_client):
    audience = make_audience()
    checkout = make_touchpoint(audience, "checkout")

    page = admin_client.post(
        "/admin/surveys/survey/from-template/",
        {
            "template": "transactional_csat",
            "audience": str(audience.pk),
            "name": "",
            "touchpoint": str(checkout.pk),
        },
    )

    survey = Survey.objects.get()
    assert page.status_code == 302
    assert page["Location"] == change_url(survey)
    assert survey.name == "Transactional CSAT – Customers"
    assert survey.touchpoint == checkout
    assert survey.priority_class == PriorityClass.TRANSACTIONAL
    assert survey.questions.count() == 4


def test_template_page_refuses_a_touchpoint_of_another_audience(admin_client):
    customers = make_audience()
    gate = make_touchpoint(make_audience("fans", AudienceKind.FAN), "gate")

    page = admin_client.post(
        "/admin/surveys/survey/from-template/",
        {"template": "transactional_csat", "audience": str(customers.pk), "touchpoint": gate.pk},
    )

    assert page.status_code == 200
    assert page.context["form"].errors == {
        "touchpoint": ["Choose a touchpoint on one of this audience's journeys."]
    }
    assert Survey.objects.count() == 0


def test_template_page_lists_templates_and_preselects_the_audience(admin_client):
    audience = make_audience()
    checkout = make_touchpoint(audience, "checkout")

    page = admin_client.get("/admin/surveys/survey/from-template/", {"audience": audience.pk})

    html = page.content.decode()
    assert page.status_code == 200
    assert f'<option value="{checkout.pk}">Customers › Purchase › Checkout</option>' in html
    assert f'<option value="{audience.pk}" selected>Customers</option>' in html
    assert "Employee eNPS and engagement pulse" in html


def test_action_opens_the_template_page_for_the_survey_audience(admin_client):
    survey = survey_with_questions()

    page = admin_client.post(
        CHANGELIST, {"action": "new_from_template", "_selected_action": [survey.pk]}
    )

    assert page.status_code == 302
    assert page["Location"] == (
        f"/admin/surveys/survey/from-template/?audience={survey.audience_id}"
    )


# --- Estimated completion time -------------------------------------------------------------


def q(key, type="text", page=1, multiline=False, show_if=None):  # noqa: A002
    return Question(key=key, type=type, page=page, multiline=multiline, show_if=show_if)


def test_estimate_adds_per_type_seconds_and_page_turns():
    questions = [
        q("nps", "nps"),
        q("csat", "csat"),
        q("ces", "ces"),
        q("stars", "rating"),
        q("one", "single_choice", page=2),
        q("many", "multiple_choice", page=2),
        q("short", page=3),
        q("long", page=3, multiline=True),
    ]

    # 4 × 5 + 6 + 9 + 20 + 45 + 3 pages × 5
    assert estimated_seconds(questions) == 115


def test_alternative_follow_ups_count_once():
    low = {"question": "nps", "op": "lte", "value": 6}
    high = {"question": "nps", "op": "gte", "value": 9}
    questions = [
        q("nps", "nps"),
        q("improve", page=2, multiline=True, show_if=low),
        q("improve_more", page=2, show_if=low),
        q("liked", page=2, multiline=True, show_if=high),
    ]

    # 5 + the longest branch (45 + 20 for detractors) + 2 pages × 5
    assert estimated_seconds(questions) == 80


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_every_template_stays_under_three_minutes(key):
    survey = survey_create_from_template(template_key=key, audience=make_audience())

    assert 30 <= survey_estimated_seconds(survey=survey) <= FATIGUE_SECONDS


def test_relationship_nps_template_takes_about_a_minute_and_a_quarter():
    survey = survey_create_from_template(template_key="relationship_nps", audience=make_audience())

    # nps 5 + reason 6 + one of improve / higher / liked 45 + may_contact 6 + 3 pages × 5
    assert survey_estimated_seconds(survey=survey) == 77
