"""Builders shared by the intercept tests (this module has no tests)."""

import json
from typing import Any

from django.test import Client

from audiences.models import Audience, Person
from surveys.intercept.models import DisplayMode, InterceptSite
from surveys.intercept.services import signature_for
from surveys.models import PublicLink, QuestionType, Survey
from tests.factories import make_audience, make_membership, make_person
from tests.surveys.test_hosted_support import add_question, make_survey

SHOP = "https://shop.example.com"


def nps_survey(**extra: Any) -> Survey:
    """A live one-page NPS survey of the customers, in Turkish and English, with a public link."""
    extra.setdefault("audience", Audience.objects.filter(slug="customers").first())
    survey = make_survey(**extra)
    add_question(
        survey,
        "nps",
        QuestionType.NPS,
        label={
            "en": "How likely are you to recommend us to a friend?",
            "tr": "Bizi bir arkadaşınıza tavsiye etme olasılığınız nedir?",
        },
    )
    PublicLink.objects.create(survey=survey, slug=f"web-{survey.pk}")
    return survey


def make_site(survey: Survey, **extra: Any) -> InterceptSite:
    extra.setdefault("name", "Shop")
    extra.setdefault("allowed_origins", [SHOP])
    extra.setdefault("sampling_rate", 1.0)
    extra.setdefault("display", DisplayMode.MODAL)
    return InterceptSite.objects.create(audience=survey.audience, survey=survey, **extra)


def member(survey: Survey, external_id: str, **extra: Any) -> Person:
    person = make_person(external_id, **extra)
    make_membership(person, survey.audience)
    return person


def decide(
    client: Client,
    site: InterceptSite,
    *,
    user: str = "",
    signature: str | None = None,
    origin: str = SHOP,
    lang: str = "en",
    raw: bytes | None = None,
) -> Any:
    """POST the decide endpoint as intercept.js does (text/plain JSON, an Origin header)."""
    body: dict[str, str] = {"lang": lang}
    if user:
        body["user"] = user
        body["signature"] = (
            signature_for(secret=site.secret, external_id=user) if signature is None else signature
        )
    elif signature is not None:
        body["signature"] = signature
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(
        f"/intercept/{site.public_key}/decide",
        data=raw if raw is not None else json.dumps(body),
        content_type="text/plain",
        **headers,
    )


__all__ = ["make_audience"]
