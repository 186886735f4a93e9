"""Builders and checks shared by the hosted-page tests (this module has no tests)."""

from typing import Any

from surveys.models import Presentation, QuestionType, Survey
from tests.surveys.test_hosted_support import add_question, make_survey, three_page_survey

# What axe checks: WCAG 2.0-2.2 A and AA, and Deque's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

ARABIC = {
    "title": "زيارتك",
    "thank_you": "شكرًا جزيلًا!",
    "nps": "ما مدى احتمال أن توصي بنا لصديق؟",
    "improve": "ما الذي يجب أن نحسنه؟",
    "liked": "ما الذي أعجبك؟",
    "csat": "ما مدى رضاك بشكل عام؟",
    "reason": "ما هو الأهم بالنسبة لك؟",
    "speed": "السرعة",
}
ARABIC_CHOICES = {"price": "السعر", "speed": ARABIC["speed"], "staff": "الموظفون"}


def one_question_survey(**extra: Any) -> Survey:
    """The three-page survey (NPS; improve or liked; CSAT + a choice), one question at a time,
    in Turkish, English and Arabic."""
    extra.setdefault("presentation", Presentation.ONE_QUESTION)
    extra.setdefault("languages", ["tr", "en", "ar"])
    survey = three_page_survey(**extra)
    add_arabic(survey)
    return survey


def add_arabic(survey: Survey) -> None:
    """Arabic texts beside the survey's Turkish and English ones."""
    survey.title = {**survey.title, "ar": ARABIC["title"]}
    survey.thank_you = {**survey.thank_you, "ar": ARABIC["thank_you"]}
    survey.save(update_fields=["title", "thank_you"])
    for question in survey.questions.all():
        question.label = {**question.label, "ar": ARABIC[question.key]}
        question.choices = [
            {**c, "label": {**c["label"], "ar": ARABIC_CHOICES[c["value"]]}}
            for c in question.choices or []
        ]
        question.save(update_fields=["label", "choices"])


def languages_survey(languages: list[str], default: str) -> Survey:
    """A one-page NPS survey in `languages` (texts say their language's code)."""
    survey = make_survey(
        languages=languages,
        default_language=default,
        title={code: f"Survey [{code}]" for code in languages},
        thank_you={code: f"Thanks [{code}]" for code in languages},
    )
    add_question(
        survey, "nps", QuestionType.NPS, label={code: f"Recommend? [{code}]" for code in languages}
    )
    return survey


def axe_violations(page: Any) -> list[str]:
    """axe-core's violations on `page`'s current state, one readable line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page,
        options={"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:3])
        for v in results.response["violations"]
    ]
