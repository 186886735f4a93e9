"""Builders shared by the hosted-page, response and validation tests (this module has no tests)."""

import datetime

import pytest
from django.utils import timezone

from audiences.models import Channel
from surveys import services
from surveys.models import (
    Invitation,
    InvitationState,
    PublicLink,
    Question,
    QuestionType,
    Survey,
    SurveyStatus,
)
from tests.factories import make_audience, make_membership, make_person, make_touchpoint

PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@pytest.fixture(autouse=True)
def plain_static_files(settings):  # noqa: ANN001, ANN201
    """With DEBUG off (the PostgreSQL pass) the manifest storage needs collectstatic first."""
    settings.STORAGES = PLAIN_STATIC


IMPROVE = {"question": "nps", "op": "lte", "value": 6}
LIKED = {"question": "nps", "op": "gte", "value": 9}


def make_survey(**extra) -> Survey:  # noqa: ANN003
    """A live survey for the customer audience, with Turkish and English texts."""
    audience = extra.pop("audience", None) or make_audience()
    extra.setdefault("status", SurveyStatus.LIVE)
    extra.setdefault("title", {"en": "Your visit", "tr": "Ziyaretiniz"})
    extra.setdefault("thank_you", {"en": "Thanks a lot!", "tr": "Çok teşekkürler!"})
    extra.setdefault("default_language", "tr")
    extra.setdefault("languages", ["tr", "en"])
    return Survey.objects.create(audience=audience, name=extra.pop("name", "Visit"), **extra)


def add_question(survey: Survey, key: str, type: str, **extra) -> Question:  # noqa: A002, ANN003
    extra.setdefault("label", {"en": f"Question {key}", "tr": f"Soru {key}"})
    return Question.objects.create(survey=survey, key=key, type=type, **extra)


REASONS = [
    {"value": "price", "label": {"en": "Price", "tr": "Fiyat"}},
    {"value": "speed", "label": {"en": "Speed", "tr": "Hız"}},
    {"value": "staff", "label": {"en": "Staff", "tr": "Çalışanlar"}},
]


def three_page_survey(**extra) -> Survey:  # noqa: ANN003
    """Page 1 NPS; page 2 "improve" (NPS ≤ 6) or "liked" (NPS ≥ 9); page 3 CSAT + a choice."""
    survey = make_survey(**extra)
    add_question(
        survey,
        "nps",
        QuestionType.NPS,
        page=1,
        order=1,
        label={
            "en": "How likely are you to recommend us to a friend?",
            "tr": "Bizi bir arkadaşınıza tavsiye etme olasılığınız nedir?",
        },
    )
    add_question(
        survey,
        "improve",
        QuestionType.TEXT,
        page=2,
        order=2,
        show_if=IMPROVE,
        label={"en": "What should we improve?", "tr": "Neyi iyileştirmeliyiz?"},
    )
    add_question(
        survey,
        "liked",
        QuestionType.TEXT,
        page=2,
        order=3,
        show_if=LIKED,
        label={"en": "What did you like?", "tr": "Neyi beğendiniz?"},
    )
    add_question(
        survey,
        "csat",
        QuestionType.CSAT,
        page=3,
        order=4,
        label={"en": "How satisfied are you overall?", "tr": "Genel olarak ne kadar memnunsunuz?"},
    )
    add_question(
        survey,
        "reason",
        QuestionType.SINGLE_CHOICE,
        page=3,
        order=5,
        choices=REASONS,
        label={"en": "What matters most to you?", "tr": "Sizin için en önemlisi nedir?"},
    )
    return survey


def invite(
    survey: Survey,
    *,
    external_id: str = "p-1",
    language: str = "tr",
    segment: str = "gold",
    state: str = InvitationState.SENT,
    expires_at: datetime.datetime | None = None,
) -> tuple[Invitation, str]:
    person = make_person(external_id, language=language)
    make_membership(person, survey.audience, segment=segment)
    return services.invitation_create(
        survey=survey, person=person, channel=Channel.EMAIL, state=state, expires_at=expires_at
    )


def public_link(survey: Survey, slug: str = "visit-qr") -> PublicLink:
    return PublicLink.objects.create(survey=survey, slug=slug)


def url(token: str) -> str:
    return f"/s/{token}/"


def hours_ago(hours: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=hours)


__all__ = ["make_touchpoint", "plain_static_files"]
