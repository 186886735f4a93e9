"""Retention per audience: old responses lose their personal links, scores keep their answers.

Surveys unlinks the responses and metrics their cases, each reading the audience's retention
from below; xmplatform.people runs both, daily from beat.
"""

import datetime as dt

import pytest

from audiences.selectors import months_before
from metrics.models import AlertRule, Case
from surveys.models import Answer, Response
from surveys.people import responses_apply_retention
from tests.metrics.closed_loop_support import open_case
from xmplatform.beat import BEAT_SCHEDULE
from xmplatform.people import people_retention_apply
from xmplatform.tasks import people_retention_task

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


def age(response: Response, *, days: int) -> None:
    day = TODAY - dt.timedelta(days=days)
    Response.objects.filter(pk=response.pk).update(
        completed_on=day, completed_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
    )


def test_responses_older_than_the_retention_are_unlinked(customers):
    customers["audience"].retention_months = 6
    customers["audience"].save()
    old, recent, *_rest = Response.objects.filter(survey=customers["survey"]).order_by("pk")
    age(old, days=200)
    age(recent, days=150)

    assert responses_apply_retention(today=TODAY) == 1

    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.person_id, old.invitation_id, old.completed_at) == (None, None, None)
    assert old.completed_on == TODAY - dt.timedelta(days=200)
    assert Answer.objects.filter(response=old).count() == 2
    assert recent.person_id is not None
    assert recent.completed_at is not None


def test_the_cases_of_old_responses_lose_their_person_too(customers):
    customers["audience"].retention_months = 6
    customers["audience"].save()
    rule = AlertRule.objects.create(
        audience=customers["audience"], name="detractors", condition="answer_lte", threshold=6
    )
    old, recent, *_rest = Response.objects.filter(survey=customers["survey"]).order_by("pk")
    age(old, days=200)
    age(recent, days=150)
    for response in (old, recent):
        case = open_case(rule, title=f"case {response.pk}", due_in=dt.timedelta(days=1))
        Case.objects.filter(pk=case.pk).update(response=response, person=response.person_id)

    assert people_retention_apply(today=TODAY) == {"responses": 1, "cases": 1}

    linked = dict(Case.objects.values_list("response_id", "person_id"))
    assert linked == {old.pk: None, recent.pk: recent.person_id}


def test_an_old_unfinished_responses_case_loses_its_person_too(customers):
    """Unfinished responses are aged by their start, which unlinking clears: cases go first."""
    customers["audience"].retention_months = 6
    customers["audience"].save()
    rule = AlertRule.objects.create(
        audience=customers["audience"], name="detractors", condition="answer_lte", threshold=6
    )
    started = Response.objects.filter(survey=customers["survey"]).order_by("pk").first()
    day = TODAY - dt.timedelta(days=200)
    Response.objects.filter(pk=started.pk).update(
        completed_on=None,
        completed_at=None,
        started_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
    )
    case = open_case(rule, title="unfinished", due_in=dt.timedelta(days=1))
    Case.objects.filter(pk=case.pk).update(response=started, person=started.person_id)

    assert people_retention_apply(today=TODAY) == {"responses": 1, "cases": 1}
    assert Case.objects.get(pk=case.pk).person_id is None


def test_a_second_run_changes_nothing(customers):
    customers["audience"].retention_months = 6
    customers["audience"].save()
    age(Response.objects.filter(survey=customers["survey"]).first(), days=400)

    assert responses_apply_retention(today=TODAY) == 1
    assert responses_apply_retention(today=TODAY) == 0


def test_audiences_without_retention_keep_their_links(customers):
    age(Response.objects.filter(survey=customers["survey"]).first(), days=4000)

    assert responses_apply_retention(today=TODAY) == 0
    assert Response.objects.filter(person__isnull=False).count() == 6


def test_the_beat_task_runs_the_service_daily_with_an_expiry(customers):
    customers["audience"].retention_months = 1
    customers["audience"].save()
    Response.objects.update(completed_on=dt.date(2000, 1, 1))

    assert people_retention_task.delay().get() == {"responses": 6, "cases": 0}
    entry = BEAT_SCHEDULE["people-retention"]
    assert (entry["task"], entry["schedule"]) == ("xmplatform.people_retention_task", 86400.0)
    assert entry["options"]["expires"] == 3600


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2024, 3, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2026, 1, 15), 13, dt.date(2024, 12, 15)),
        (dt.date(2026, 12, 1), 0, dt.date(2026, 12, 1)),
    ],
)
def test_months_before_keeps_the_day_or_the_months_last(day, months, expected):
    assert months_before(day, months) == expected
