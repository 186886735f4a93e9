"""The closed loop on real Celery workers, PostgreSQL and Redis, with a real SMTP server.

A detractor opens exactly one case, assigned and e-mailed once, however often the response is
submitted or its completion relayed; a score drop raises one alert per cooldown window however
many workers evaluate it at once; an anonymous detractor opens nothing.
"""

import datetime as dt

import pytest
from celery.result import AsyncResult
from django.db import transaction
from django.test import Client

from metrics.models import Alert, AlertRule, Case, NotifyMode, RuleCondition
from metrics.tasks import score_rules_evaluate_task
from surveys.models import Response
from tests.metrics.closed_loop_support import contact_survey, detractor_rule, invite, submit
from tests.metrics.conftest import TODAY, add_responses, build_world, nps_specs
from tests.support.workers import celery_workers, wait_until
from tests.surveys.distribution_factories import SmtpSink
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.outbox import outbox_emit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NOON = dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC)


def _relayed() -> bool:
    return not OutboxMessage.objects.exclude(state=OutboxState.DONE).exists()


def test_detractor_opens_one_case_notified_once_despite_resubmit_and_reruns() -> None:
    survey = contact_survey()
    detractor_rule(survey)
    _, token = invite(survey)
    with (
        SmtpSink() as sink,
        celery_workers(2, concurrency=2, extra_env={"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}"}),
    ):
        client = Client()
        submit(client, token, nps="2")  # completing writes response.completed with the answers
        submit(client, token, nps="2")  # a second tab submits the same answers
        response = Response.objects.get(survey=survey)
        # The completion owed again four times (as a rerun after a crash would), relayed by
        # both workers side by side.
        with transaction.atomic():
            for _rerun in range(4):
                outbox_emit("response.completed", response_id=response.pk)
        assert wait_until(
            lambda: _relayed() and Alert.objects.filter(notified_at__isnull=False).exists()
        )

    alert = Alert.objects.get()
    case = Case.objects.get()
    assert case.alert == alert
    assert case.assignee == survey.audience.owner
    assert case.person == response.person
    assert case.may_contact is True
    assert alert.notify_attempts == 1
    assert OutboxMessage.objects.filter(event="alert.opened").count() == 2  # one per handler
    assert len(sink.messages) == 1
    assert sink.messages[0]["To"] == "customers-owner@example.com"


def test_anonymous_detractor_on_a_worker_opens_no_case() -> None:
    survey = contact_survey(anonymous=True)
    detractor_rule(survey)
    _, token = invite(survey)
    with celery_workers(1):
        submit(Client(), token, nps="0")
        response = Response.objects.get(survey=survey)
        with transaction.atomic():
            outbox_emit("response.completed", response_id=response.pk)
        assert wait_until(_relayed)

    assert response.person_id is None
    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0


def _evaluate(now: dt.datetime) -> AsyncResult:
    """The beat's score rule check as of `now`, keeping its result (tasks keep none unless
    asked)."""
    return score_rules_evaluate_task.apply_async((now.isoformat(),), ignore_result=False)


def test_score_drop_raises_one_alert_per_cooldown_window_across_workers() -> None:
    world = build_world()
    AlertRule.objects.create(
        audience=world.audience,
        name="NPS drop",
        condition=RuleCondition.SCORE_DROP,
        question_type="nps",
        notify=NotifyMode.DIGEST,
        cooldown=dt.timedelta(hours=6),
    )
    add_responses(world, nps_specs([10] * 20, day=TODAY - dt.timedelta(days=10)))
    add_responses(world, nps_specs([10] * 10 + [0] * 10, day=TODAY - dt.timedelta(days=2)))
    with celery_workers(2, concurrency=2):
        first = [_evaluate(NOON + dt.timedelta(minutes=m)) for m in (0, 0, 15, 30, 59, 300)]
        assert sorted(len(r.get(timeout=60)) for r in first) == [0, 0, 0, 0, 0, 1]
        later = [_evaluate(NOON + dt.timedelta(hours=6, minutes=m)) for m in (0, 1, 2)]
        assert sorted(len(r.get(timeout=60)) for r in later) == [0, 0, 1]

    assert list(Alert.objects.order_by("window_start").values_list("window_start", flat=True)) == [
        dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC),
        dt.datetime(2026, 6, 15, 18, tzinfo=dt.UTC),
    ]
    assert Case.objects.count() == 2
    assert OutboxMessage.objects.filter(event="alert.opened").count() == 4  # 2 alerts × 2
