"""The insider's world: an anonymous employee pulse answered through the real submit path.

Fourteen employees in three segments (legal holds one person), one named customer survey, an
HR analyst who sees employees only and an employees-only API key. Answers are submitted by
`surveys.services.response_answer` at chosen moments (the clock is moved, nothing is written
around the service), then the beat's own release and rollup run.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audiences.models import Audience, AudienceKind, Person, Role
from metrics.tasks import anonymous_periods_release_task
from surveys import tokens
from surveys.models import InvitationState, Question, QuestionType, Survey, SurveyStatus
from surveys.services import Respondent, response_answer
from tests.access.conftest import staff_with_grant
from tests.factories import make_audience, make_membership, make_person
from tests.surveys.distribution_factories import make_invitation
from xmplatform.api.services import api_key_create

K = 5
SEGMENTS = {"legal": 1, "sales": 7, "ops": 6}


@contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    """Every `timezone.now()` (and so `localdate()`) reads `moment`."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@dataclass
class Pulse:
    audience: Audience
    survey: Survey
    people: dict[str, list[Person]]
    comments: dict[int, str] = field(default_factory=dict)  # person pk -> their comment

    def submit(self, person: Person, *, at: dt.datetime, enps: int, rating: int = 3) -> None:
        """`person` answers the pulse at `at` through the hosted pages' service."""
        with clock(at):
            invitation = make_invitation(
                self.survey, person, state=InvitationState.SENT, sent_at=at - dt.timedelta(hours=2)
            )
            comment = f"Comment of {person.external_id} mentioning Quokka{person.pk}"
            self.comments[person.pk] = comment
            response_answer(
                respondent=Respondent(
                    survey=self.survey,
                    invitation=invitation,
                    token=tokens.token_for(invitation.nonce),
                ),
                questions=list(self.survey.questions.all()),
                values={"enps": enps, "rating": rating, "comment": comment},
                language="en",
                user_agent="Mozilla/5.0",
            )

    def release(self, *, at: dt.datetime) -> None:
        """What beat does every minute: release the batches that are due, roll them up."""
        with clock(at):
            anonymous_periods_release_task()


def build_pulse() -> Pulse:
    audience = make_audience("employees", kind=AudienceKind.EMPLOYEE, anonymity_threshold=K)
    survey = Survey.objects.create(
        audience=audience, name="Pulse", status=SurveyStatus.LIVE, anonymous=True
    )
    Question.objects.create(survey=survey, key="enps", type=QuestionType.NPS, order=1)
    Question.objects.create(
        survey=survey, key="rating", type=QuestionType.RATING, order=2, scale_max=5
    )
    Question.objects.create(
        survey=survey, key="comment", type=QuestionType.TEXT, order=3, required=False
    )
    people: dict[str, list[Person]] = {}
    for segment, count in SEGMENTS.items():
        for i in range(count):
            person = make_person(f"emp-{segment}-{i}", name=f"{segment.title()} Person {i}")
            make_membership(person, audience, segment=segment)
            people.setdefault(segment, []).append(person)
    return Pulse(audience=audience, survey=survey, people=people)


@pytest.fixture
def pulse(db: Any) -> Pulse:
    return build_pulse()


@pytest.fixture
def superuser(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="correct-horse-battery"
    )


@pytest.fixture
def hr_analyst(pulse: Pulse, superuser: Any) -> Client:
    """An admin session of an analyst granted the employee audience only."""
    user = staff_with_grant("hr.analyst", pulse.audience, Role.ANALYST, superuser)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def hr_key(pulse: Pulse) -> APIClient:
    """An API client whose key sees the employee audience only."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_create(name='HR', audiences=[pulse.audience])[1]}"
    )
    return client
