"""The API cast: two audiences (customers, employees), their people, touchpoints and surveys,
and three keys: one for everything, one for employees only, one read-only."""

from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from audiences.models import Audience, AudienceKind, Person
from journeys.models import Touchpoint
from surveys.models import Question, QuestionType, Survey, SurveyStatus
from tests.factories import make_audience, make_membership, make_person, make_touchpoint
from xmplatform.api.services import api_key_create


@dataclass
class World:
    customers: Audience
    employees: Audience
    ayse: Person  # a customer
    emre: Person  # an employee
    checkout: Touchpoint
    onboarding: Touchpoint
    customer_survey: Survey
    employee_survey: Survey


@pytest.fixture
def world(db: Any) -> World:
    customers = make_audience("customers")
    employees = make_audience("employees", kind=AudienceKind.EMPLOYEE)
    ayse = make_person("c-1", email="ayse@example.com", name="Ayşe Yılmaz")
    emre = make_person("e-1", email="emre@example.com", name="Emre Kaya")
    make_membership(ayse, customers, segment="premium")
    make_membership(emre, employees, segment="sales")
    checkout = make_touchpoint(customers, slug="checkout")
    onboarding = make_touchpoint(employees, slug="onboarding", stage_name="Onboarding")
    customer_survey = Survey.objects.create(
        audience=customers,
        touchpoint=checkout,
        name="Checkout NPS",
        status=SurveyStatus.LIVE,
        title={"en": "How was checkout?", "tr": "Ödeme nasıldı?"},
    )
    Question.objects.create(
        survey=customer_survey,
        key="nps",
        type=QuestionType.NPS,
        order=1,
        label={"en": "How likely are you to recommend us?", "tr": "Bizi tavsiye eder misiniz?"},
    )
    Question.objects.create(
        survey=customer_survey,
        key="improve",
        type=QuestionType.TEXT,
        order=2,
        required=False,
        label={"en": "What should we improve?"},
        show_if={"question": "nps", "op": "lte", "value": 6},
    )
    Question.objects.create(
        survey=customer_survey,
        key="topics",
        type=QuestionType.MULTIPLE_CHOICE,
        order=3,
        required=False,
        label={"en": "Topics"},
        choices=[
            {"value": "price", "label": {"en": "Price"}},
            {"value": "speed", "label": {"en": "Speed"}},
        ],
    )
    employee_survey = Survey.objects.create(
        audience=employees, name="Pulse", status=SurveyStatus.LIVE, anonymous=True
    )
    Question.objects.create(
        survey=employee_survey, key="enps", type=QuestionType.NPS, order=1, label={"en": "eNPS"}
    )
    return World(
        customers, employees, ayse, emre, checkout, onboarding, customer_survey, employee_survey
    )


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def full_key(world: World) -> str:
    return api_key_create(name="CRM")[1]


@pytest.fixture
def employee_key(world: World) -> str:
    return api_key_create(name="HR system", audiences=[world.employees])[1]


@pytest.fixture
def read_only_key(world: World) -> str:
    return api_key_create(name="BI", read_only=True)[1]


@pytest.fixture
def api(full_key: str) -> APIClient:
    """A client with the key for all audiences."""
    return client_for(full_key)


@pytest.fixture
def hr(employee_key: str) -> APIClient:
    """A client with the key limited to the employee audience."""
    return client_for(employee_key)
