"""Builders for metrics tests: an audience with a mapped journey, a survey and responses."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.utils import timezone

from audiences.models import Audience, AudienceKind, Person
from journeys.models import Touchpoint
from metrics.models import AlertRule
from surveys.models import (
    Answer,
    Question,
    QuestionType,
    ReportingPeriod,
    Response,
    Survey,
    SurveyStatus,
)
from tests.factories import make_audience, make_touchpoint
from tests.metrics.closed_loop_support import contact_survey, detractor_rule

TODAY = dt.date(2026, 6, 15)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings: Any) -> None:
    """Render {% static %} without a collected manifest (the PostgreSQL pass runs DEBUG off)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class World:
    """One audience, its journey's touchpoints, one survey and its questions."""

    audience: Audience
    survey: Survey
    questions: dict[str, Question]
    touchpoints: dict[str, Touchpoint] = field(default_factory=dict)


def build_world(
    slug: str = "customers",
    kind: str = AudienceKind.CUSTOMER,
    touchpoints: tuple[tuple[str, str], ...] = (("checkout", "Purchase"), ("delivery", "Delivery")),
    threshold: int = 5,
    ces_scale: int = 5,
) -> World:
    audience = make_audience(slug, kind=kind, anonymity_threshold=threshold)
    tps = {
        tp_slug: make_touchpoint(audience, slug=f"{slug}-{tp_slug}", stage_name=stage)
        for tp_slug, stage in touchpoints
    }
    survey = Survey.objects.create(
        audience=audience, name=f"{slug} survey", status=SurveyStatus.LIVE
    )
    questions = {
        "nps": Question.objects.create(survey=survey, key="nps", type=QuestionType.NPS, order=1),
        "csat": Question.objects.create(survey=survey, key="csat", type=QuestionType.CSAT, order=2),
        "ces": Question.objects.create(
            survey=survey, key="ces", type=QuestionType.CES, order=3, scale_max=ces_scale
        ),
        "rating": Question.objects.create(
            survey=survey, key="rating", type=QuestionType.RATING, order=4, scale_max=5
        ),
        "comment": Question.objects.create(
            survey=survey, key="comment", type=QuestionType.TEXT, order=5, required=False
        ),
    }
    return World(audience=audience, survey=survey, questions=questions, touchpoints=tps)


def add_responses(
    world: World, specs: list[dict[str, Any]], survey: Survey | None = None
) -> list[Response]:
    """Create completed responses and their answers in two bulk inserts.

    A spec holds the answers by question key (nps, csat, ces, rating, comment) and optionally
    day, touchpoint (key of world.touchpoints), segment, channel, language, person,
    completed (False leaves the response unfinished), released (False: an anonymous response
    waiting for its batch). An anonymous survey's responses are stored as surveys.periods
    stores them: on the given day (its period's first day), with no time and no person.
    """
    survey = survey or world.survey
    responses = []
    for spec in specs:
        day = spec.get("day", TODAY)
        completed = spec.get("completed", True)
        tp = spec.get("touchpoint")
        moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
        responses.append(
            Response(
                survey=survey,
                audience=world.audience,
                touchpoint=world.touchpoints[tp] if tp else survey.touchpoint,
                person=None if survey.anonymous else spec.get("person"),
                channel=spec.get("channel", "email"),
                language=spec.get("language", "en"),
                segment=spec.get("segment", ""),
                completed_on=day if completed else None,
                completed_at=moment if completed and not survey.anonymous else None,
                started_at=None if survey.anonymous else timezone.now(),
                released=spec.get("released", True),
            )
        )
    Response.objects.bulk_create(responses)
    questions = {q.key: q for q in survey.questions.all()}
    answers = []
    for response, spec in zip(responses, specs, strict=True):
        for key, question in questions.items():
            if key not in spec:
                continue
            if question.type == QuestionType.TEXT:
                answers.append(Answer(response=response, question=question, text=spec[key]))
            else:
                answers.append(Answer(response=response, question=question, number=spec[key]))
    Answer.objects.bulk_create(answers)
    return responses


def anonymous_world(
    slug: str = "staff",
    threshold: int = 5,
    touchpoints: tuple[tuple[str, str], ...] = (("payroll", "Growth"),),
) -> World:
    """An employee audience whose survey is anonymous, about its first touchpoint."""
    world = build_world(
        slug, kind=AudienceKind.EMPLOYEE, touchpoints=touchpoints, threshold=threshold
    )
    world.survey.anonymous = True
    world.survey.touchpoint = next(iter(world.touchpoints.values()), None)
    world.survey.save(update_fields=["anonymous", "touchpoint"])
    return world


def add_period(
    survey: Survey, starts_on: dt.date, ends_on: dt.date, *, published: bool = True
) -> ReportingPeriod:
    """A reporting period of an anonymous survey, published (ended and frozen) or still open."""
    return ReportingPeriod.objects.create(
        survey=survey,
        starts_on=starts_on,
        ends_on=ends_on,
        published_at=(
            dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(0, 5), tzinfo=dt.UTC)
            if published
            else None
        ),
    )


def nps_specs(values: list[int], **common: Any) -> list[dict[str, Any]]:
    return [{"nps": v, **common} for v in values]


def make_people(prefix: str, count: int) -> list[Person]:
    return Person.objects.bulk_create(
        [
            Person(external_id=f"{prefix}-{i}", email=f"{prefix}-{i}@example.com")
            for i in range(count)
        ]
    )


# The response-rule tests' survey (with the contact question), detractor rule and alert ids.


@pytest.fixture
def survey() -> Survey:
    return contact_survey()


@pytest.fixture
def rule(survey: Survey) -> AlertRule:
    return detractor_rule(survey)


def opened_alerts() -> list[int]:
    """The alerts announced to the outbox (`alert.opened`), oldest first, once each."""
    from xmplatform.core.models import OutboxMessage

    seen: list[int] = []
    for payload in (
        OutboxMessage.objects.filter(event="alert.opened")
        .order_by("pk")
        .values_list("payload", flat=True)
    ):
        if payload["alert_id"] not in seen:
            seen.append(payload["alert_id"])
    return seen


@pytest.fixture
def api_key_for() -> Any:
    """An API client whose key sees one world's audience only."""
    from rest_framework.test import APIClient

    from xmplatform.api.services import api_key_create

    def client_for(world: World) -> APIClient:
        client = APIClient()
        key = api_key_create(name=f"{world.audience.slug} key", audiences=[world.audience])[1]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return client_for
