"""Builders for the key-driver tests: a survey with an outcome, scored and choice drivers, and
responses written in bulk through the real models."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from audiences.models import Audience, AudienceKind, Person
from journeys.models import Touchpoint, TouchpointEvent
from surveys.models import Answer, Question, QuestionType, Response, Survey, SurveyStatus
from tests.factories import make_audience, make_touchpoint

TODAY = dt.date(2026, 6, 15)
NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)


@dataclass
class DriversWorld:
    audience: Audience
    survey: Survey
    questions: dict[str, Question]
    touchpoints: dict[str, Touchpoint] = field(default_factory=dict)


def drivers_world(
    slug: str = "shoppers", *, anonymous: bool = False, threshold: int = 5
) -> DriversWorld:
    """A checkout survey: nps (outcome), csat, speed (rating 1–5), ease (CES 1–7), topics
    (multiple choice: price, speed, support), paid (single choice: card, cash) and a comment."""
    kind = AudienceKind.EMPLOYEE if anonymous else AudienceKind.CUSTOMER
    audience = make_audience(slug, kind=kind, anonymity_threshold=threshold, name=slug.title())
    tps = {
        name: make_touchpoint(audience, slug=f"{slug}-{name}", stage_name=stage)
        for name, stage in (("checkout", "Purchase"), ("delivery", "Delivery"), ("support", "Care"))
    }
    survey = Survey.objects.create(
        audience=audience,
        touchpoint=tps["checkout"],
        name=f"{slug.title()} checkout",
        status=SurveyStatus.LIVE,
        anonymous=anonymous,
    )
    q = {
        "nps": Question.objects.create(
            survey=survey,
            key="nps",
            type=QuestionType.NPS,
            order=1,
            label={"en": "Recommend us?", "tr": "Bizi önerir misiniz?"},
        ),
        "csat": Question.objects.create(
            survey=survey,
            key="csat",
            type=QuestionType.CSAT,
            order=2,
            label={"en": "Satisfied with checkout?", "tr": "Ödemeden memnun musunuz?"},
        ),
        "speed": Question.objects.create(
            survey=survey,
            key="speed",
            type=QuestionType.RATING,
            order=3,
            scale_max=5,
            label={"en": "Delivery speed", "tr": "Teslimat hızı"},
        ),
        "ease": Question.objects.create(
            survey=survey,
            key="ease",
            type=QuestionType.CES,
            order=4,
            scale_max=7,
            required=False,
            label={"en": "It was easy", "tr": "Kolaydı"},
        ),
        "topics": Question.objects.create(
            survey=survey,
            key="topics",
            type=QuestionType.MULTIPLE_CHOICE,
            order=5,
            required=False,
            label={"en": "What mattered?", "tr": "Ne önemliydi?"},
            choices=[
                {"value": "price", "label": {"en": "Price", "tr": "Fiyat"}},
                {"value": "speed", "label": {"en": "Speed", "tr": "Hız"}},
                {"value": "support", "label": {"en": "Support", "tr": "Destek"}},
            ],
        ),
        "paid": Question.objects.create(
            survey=survey,
            key="paid",
            type=QuestionType.SINGLE_CHOICE,
            order=6,
            label={"en": "Paid by", "tr": "Ödeme"},
            choices=[
                {"value": "card", "label": {"en": "Card", "tr": "Kart"}},
                {"value": "cash", "label": {"en": "Cash", "tr": "Nakit"}},
            ],
        ),
        "comment": Question.objects.create(
            survey=survey, key="comment", type=QuestionType.TEXT, order=7, required=False
        ),
    }
    return DriversWorld(audience=audience, survey=survey, questions=q, touchpoints=tps)


def add_rows(world: DriversWorld, rows: list[dict[str, Any]]) -> list[Response]:
    """Completed responses in bulk: each row holds `answers` by question key (numbers, a list
    of choice values, or text) and optionally person, at (completion moment), day, segment,
    released. Anonymous surveys' responses keep no person and no moment, as stored."""
    survey = world.survey
    responses = []
    for row in rows:
        at = row.get("at", NOON)
        day = row.get("day", at.date())
        responses.append(
            Response(
                survey=survey,
                audience=world.audience,
                touchpoint=survey.touchpoint,
                person=None if survey.anonymous else row.get("person"),
                channel=row.get("channel", "email"),
                language=row.get("language", "en"),
                segment=row.get("segment", ""),
                completed_on=day,
                completed_at=None if survey.anonymous else at,
                released=row.get("released", True),
            )
        )
    Response.objects.bulk_create(responses)
    answers = []
    for response, row in zip(responses, rows, strict=True):
        for key, value in row["answers"].items():
            question = world.questions[key]
            if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
                values = [value] if isinstance(value, str) else list(value)
                answers.append(Answer(response=response, question=question, choices=values))
            elif question.type == QuestionType.TEXT:
                answers.append(Answer(response=response, question=question, text=value))
            else:
                answers.append(Answer(response=response, question=question, number=value))
    Answer.objects.bulk_create(answers)
    return responses


def known_rows(n: int, seed: int = 1, **common: Any) -> list[dict[str, Any]]:
    """Rows whose NPS follows csat strongly, speed less and the price option negatively."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        csat = int(rng.integers(1, 6))
        speed = int(rng.integers(1, 6))
        price = bool(rng.random() < 0.4)
        noise = rng.normal(0, 0.7)
        nps = int(np.clip(round(1.6 * csat + 0.5 * speed - 2.0 * price - 1 + noise), 0, 10))
        topics = ["price"] if price else ["speed"]
        rows.append(
            {
                "answers": {
                    "nps": nps,
                    "csat": csat,
                    "speed": speed,
                    "topics": topics,
                    "paid": "card" if rng.random() < 0.5 else "cash",
                },
                **common,
            }
        )
    return rows


def make_people(prefix: str, count: int) -> list[Person]:
    return Person.objects.bulk_create(
        [
            Person(external_id=f"{prefix}-{i}", email=f"{prefix}-{i}@example.com")
            for i in range(count)
        ]
    )


def add_events(touchpoint: Touchpoint, people: list[Person], at: dt.datetime) -> None:
    TouchpointEvent.objects.bulk_create(
        [TouchpointEvent(person=p, touchpoint=touchpoint, occurred_at=at) for p in people]
    )
