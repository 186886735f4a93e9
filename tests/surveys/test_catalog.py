"""Survey templates: every template makes a sound, bilingual survey."""

import pytest
from django.core.exceptions import ValidationError

from audiences.models import AudienceKind
from journeys.models import TouchpointRole
from surveys.catalog import TEMPLATES, survey_create_from_template, template_choices
from surveys.logic import logic_errors, visible_keys
from surveys.models import PriorityClass, Question, QuestionType, Survey, SurveyStatus
from tests.factories import make_audience, make_touchpoint

pytestmark = pytest.mark.django_db

TURKISH_LETTERS = set("çğıİöşüÇĞÖŞÜ")


def texts_of(survey: Survey) -> list[dict[str, str]]:
    texts = [survey.title, survey.intro, survey.thank_you]
    for q in survey.questions.all():
        texts.append(q.label)
        if q.help:
            texts.append(q.help)
        texts.extend(c["label"] for c in q.choices)
    return texts


def test_catalogue_lists_the_six_templates_in_order():
    assert [key for key, _name in template_choices()] == [
        "relationship_nps",
        "transactional_csat",
        "support_ces",
        "employee_pulse",
        "supplier_satisfaction",
        "fan_experience",
    ]


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_template_creates_a_sound_survey_in_both_languages(key):
    survey = survey_create_from_template(template_key=key, audience=make_audience())

    questions = list(survey.questions.all())
    assert len(questions) == len(TEMPLATES[key].questions)
    assert logic_errors(questions) == {}
    for texts in texts_of(survey):
        assert set(texts) == {"en", "tr"}
        assert texts["en"].strip() and texts["tr"].strip()
        assert texts["en"] != texts["tr"]
    assert [q.order for q in questions] == list(range(1, len(questions) + 1))
    assert len({q.key for q in questions}) == len(questions)
    assert survey.status == SurveyStatus.DRAFT
    assert survey.languages == ["tr", "en"]
    assert survey.default_language == "tr"


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_turkish_texts_use_turkish_letters(key):
    template = TEMPLATES[key]

    turkish = " ".join(q.label["tr"] for q in template.questions) + template.intro["tr"]

    assert TURKISH_LETTERS & set(turkish)


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_named_templates_ask_may_contact_and_anonymous_ones_do_not(key):
    survey = survey_create_from_template(template_key=key, audience=make_audience())

    may_contact = survey.questions.filter(key="may_contact").first()

    if survey.anonymous:
        assert may_contact is None
    else:
        assert may_contact.type == QuestionType.SINGLE_CHOICE
        assert may_contact.choices == [
            {"value": "yes", "label": {"en": "Yes", "tr": "Evet"}},
            {"value": "no", "label": {"en": "No", "tr": "Hayır"}},
        ]
        assert may_contact.page == max(q.page for q in survey.questions.all())


@pytest.mark.parametrize(
    "key", [k for k, t in TEMPLATES.items() if any(q.type == "nps" for q in t.questions)]
)
def test_nps_templates_ask_detractors_to_improve_and_promoters_what_they_liked(key):
    survey = survey_create_from_template(template_key=key, audience=make_audience())
    questions = list(survey.questions.all())
    by_key = {q.key: q for q in questions}

    assert by_key["improve"].show_if == {"question": "nps", "op": "lte", "value": 6}
    assert by_key["liked"].show_if == {"question": "nps", "op": "gte", "value": 9}
    assert by_key["improve"].page > by_key["nps"].page
    assert by_key["liked"].page > by_key["nps"].page
    assert "improve" in visible_keys(questions, {"nps": 6})
    assert "liked" not in visible_keys(questions, {"nps": 6})
    assert "liked" in visible_keys(questions, {"nps": 9})
    assert "improve" not in visible_keys(questions, {"nps": 9})


def test_relationship_nps_texts():
    survey = survey_create_from_template(template_key="relationship_nps", audience=make_audience())
    nps = survey.questions.get(key="nps")

    assert nps.label == {
        "en": "How likely are you to recommend us to a friend or colleague?",
        "tr": "Bizi bir arkadaşınıza veya iş arkadaşınıza tavsiye etme olasılığınız nedir?",
    }
    assert survey.questions.get(key="improve").label == {
        "en": "What should we improve?",
        "tr": "Neyi iyileştirmeliyiz?",
    }
    assert survey.questions.get(key="liked").label == {
        "en": "What did you like most?",
        "tr": "En çok neyi beğendiniz?",
    }


@pytest.mark.parametrize(
    ("key", "priority"),
    [
        ("relationship_nps", PriorityClass.RELATIONSHIP),
        ("transactional_csat", PriorityClass.TRANSACTIONAL),
        ("support_ces", PriorityClass.TRANSACTIONAL),
        ("employee_pulse", PriorityClass.RESEARCH),
        ("supplier_satisfaction", PriorityClass.RESEARCH),
        ("fan_experience", PriorityClass.RELATIONSHIP),
    ],
)
def test_template_sets_the_priority_class(key, priority):
    survey = survey_create_from_template(template_key=key, audience=make_audience())

    assert survey.priority_class == priority


def test_ces_template_uses_a_seven_point_agreement_scale():
    survey = survey_create_from_template(template_key="support_ces", audience=make_audience())
    ces = survey.questions.get(key="ces")

    assert ces.type == QuestionType.CES
    assert ces.scale_max == 7
    assert ces.help == {
        "en": "1 = strongly disagree, 7 = strongly agree",
        "tr": "1 = kesinlikle katılmıyorum, 7 = kesinlikle katılıyorum",
    }


def test_employee_pulse_is_anonymous():
    audience = make_audience("employees", AudienceKind.EMPLOYEE)

    survey = survey_create_from_template(template_key="employee_pulse", audience=audience)

    assert survey.anonymous is True
    assert survey.questions.get(key="nps").type == QuestionType.NPS


def test_default_name_joins_template_and_audience():
    survey = survey_create_from_template(
        template_key="transactional_csat", audience=make_audience(name="Retail customers")
    )

    assert survey.name == "Transactional CSAT – Retail customers"


def test_given_name_and_touchpoint_are_kept(django_assert_num_queries):
    audience = make_audience()
    checkout = make_touchpoint(audience, "checkout", role=TouchpointRole.PURCHASE)

    # savepoint, touchpoint check, insert survey, insert questions (one bulk insert), release
    with django_assert_num_queries(5):
        survey = survey_create_from_template(
            template_key="transactional_csat",
            audience=audience,
            name="Checkout CSAT",
            touchpoint=checkout,
        )

    survey.refresh_from_db()
    assert survey.name == "Checkout CSAT"
    assert survey.touchpoint == checkout
    assert survey.questions.count() == 4


def test_unknown_template_is_refused_and_nothing_is_written():
    audience = make_audience()

    with pytest.raises(ValidationError) as raised:
        survey_create_from_template(template_key="nope", audience=audience)

    assert raised.value.messages == [
        "Unknown survey template “nope”; choose one of: relationship_nps, transactional_csat, "
        "support_ces, employee_pulse, supplier_satisfaction, fan_experience."
    ]
    assert Survey.objects.count() == 0


def test_touchpoint_of_another_audience_is_refused_and_nothing_is_written():
    customers = make_audience()
    fans = make_audience("fans", AudienceKind.FAN)
    gate = make_touchpoint(fans, "gate")

    with pytest.raises(ValidationError) as raised:
        survey_create_from_template(
            template_key="transactional_csat", audience=customers, touchpoint=gate
        )

    assert raised.value.messages == ["The touchpoint “Gate” is not on a journey of Customers."]
    assert Survey.objects.count() == 0
    assert Question.objects.count() == 0
