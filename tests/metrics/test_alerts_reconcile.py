"""The response-rule reconciler: a completed response whose rules task was lost still gets its case.

A lost task is simulated by a completion publish that does nothing (what a Redis outage or a
worker killed before the ack leaves behind); the reconciler runs with `now` past the grace.
"""

import datetime as dt
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from metrics.closedloop import alerts
from metrics.closedloop.alerts import RESPONSE_CHECK_GRACE, RESPONSE_CHECK_HORIZON
from metrics.models import Alert, AlertRule, Case, NotifyMode, RuleCondition
from metrics.tasks import response_alerts_reconcile_task
from surveys.models import Answer, Response
from surveys.services import day_start
from surveys.tasks import response_completed_task
from tests.metrics.closed_loop_support import contact_survey, detractor_rule, invite, submit
from tests.metrics.conftest import add_responses, build_world, nps_specs
from tests.support.locks import row_locked_elsewhere
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse
from xmplatform.beat import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)  # completed_at of tests.metrics.add_responses
PAST_GRACE = NOON + RESPONSE_CHECK_GRACE + dt.timedelta(seconds=1)


def _submit(capture, survey, *, lost: bool, external_id: str = "p-1", **kwargs) -> Response:  # noqa: ANN001
    """Submit through the hosted pages; `lost`: the completion's publish never reaches a worker."""
    _, token = invite(survey, external_id=external_id)
    if lost:
        # Outermost: the after-commit callbacks run when the capture block exits.
        with mock.patch.object(response_completed_task, "delay") as publish:
            with capture(execute=True):
                submit(Client(), token, **kwargs)
        assert publish.call_count == 1
    else:
        with capture(execute=True):
            submit(Client(), token, **kwargs)
    return Response.objects.filter(survey=survey).latest("pk")


def _after_grace(response: Response) -> dt.datetime:
    return response.completed_at + RESPONSE_CHECK_GRACE + dt.timedelta(seconds=1)


def test_lost_rules_task_gets_its_case_and_email_from_the_reconciler(
    django_capture_on_commit_callbacks, survey, rule, opened_alerts
) -> None:  # noqa: ANN001
    response = _submit(django_capture_on_commit_callbacks, survey, lost=True, nps="3")
    assert response.alerts_checked_at is None
    assert Alert.objects.count() == 0

    now = _after_grace(response)
    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.response_alerts_reconcile(now=now) == 1

    case = Case.objects.get()
    assert case.alert.rule == rule
    assert case.response == response
    assert case.person == response.person
    assert case.assignee == survey.audience.owner
    assert case.may_contact is True
    assert case.title == "NPS (0–10) answer 3: Detractor callback"
    assert (case.opened_at, case.due_at) == (now, now + dt.timedelta(hours=24))
    assert opened_alerts == [case.alert_id]
    [message] = mail.outbox
    assert message.to == ["customers-owner@example.com"]
    assert message.subject == "New case for Customers: NPS (0–10) answer 3: Detractor callback"
    response.refresh_from_db()
    assert response.alerts_checked_at == now


def test_response_checked_by_its_task_is_not_evaluated_again(
    django_capture_on_commit_callbacks, django_assert_num_queries, survey, rule, opened_alerts
) -> None:  # noqa: ANN001
    before = timezone.now()
    response = _submit(django_capture_on_commit_callbacks, survey, lost=False, nps="3")
    response.refresh_from_db()
    assert response.alerts_checked_at >= before
    assert len(mail.outbox) == 1

    # 1-3 savepoint, mark the responses no rule may see, release; 4-6 savepoint, claim, release.
    with django_capture_on_commit_callbacks(execute=True), django_assert_num_queries(6):
        assert alerts.response_alerts_reconcile(now=_after_grace(response)) == 0

    assert Case.objects.count() == 1
    assert len(opened_alerts) == 1
    assert len(mail.outbox) == 1


def test_evaluated_but_unmarked_response_keeps_one_case_and_one_email(
    django_capture_on_commit_callbacks, survey, rule, opened_alerts
) -> None:  # noqa: ANN001
    response = _submit(django_capture_on_commit_callbacks, survey, lost=False, nps="3")
    # The task's alerts committed, then its worker died before marking the response.
    Response.objects.filter(pk=response.pk).update(alerts_checked_at=None)

    with django_capture_on_commit_callbacks(execute=True):
        assert alerts.response_alerts_reconcile(now=_after_grace(response)) == 1

    assert Alert.objects.count() == 1
    assert Case.objects.count() == 1
    assert len(opened_alerts) == 1
    assert len(mail.outbox) == 1
    assert Response.objects.get().alerts_checked_at is not None


def test_reconciler_leaves_responses_inside_the_grace_period_to_their_task(
    django_capture_on_commit_callbacks, survey, rule
) -> None:  # noqa: ANN001
    response = _submit(django_capture_on_commit_callbacks, survey, lost=True, nps="3")
    just_before = response.completed_at + RESPONSE_CHECK_GRACE - dt.timedelta(seconds=1)

    assert alerts.response_alerts_reconcile(now=response.completed_at) == 0
    assert alerts.response_alerts_reconcile(now=just_before) == 0
    assert Alert.objects.count() == 0
    assert Response.objects.get().alerts_checked_at is None

    assert alerts.response_alerts_reconcile(now=_after_grace(response)) == 1
    assert Alert.objects.count() == 1


def test_checked_responses_are_never_picked_again(django_assert_num_queries) -> None:
    world = build_world()
    detractor_rule(world.survey)
    add_responses(world, nps_specs([2, 9]))
    later = PAST_GRACE + dt.timedelta(minutes=1)

    assert alerts.response_alerts_reconcile(now=PAST_GRACE) == 2
    # 1-3 savepoint, mark the responses no rule may see, release; 4-6 savepoint, claim, release.
    with django_assert_num_queries(6):
        assert alerts.response_alerts_reconcile(now=later) == 0

    assert Alert.objects.count() == 1
    assert set(Response.objects.values_list("alerts_checked_at", flat=True)) == {PAST_GRACE}


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def test_an_anonymous_response_is_stored_checked_on_its_period_start(client) -> None:  # noqa: ANN001
    anonymous = contact_survey(anonymous=True)
    detractor_rule(anonymous)
    _, token = invite(anonymous)
    submit(client, token, nps="0")  # outside a commit: no task would ever run

    response = Response.objects.get(survey=anonymous)

    # Never evaluated, and never dated by a check: the period's first day is all it keeps.
    assert response.completed_at is None
    assert response.alerts_checked_at == midnight(response.completed_on)
    assert response.completed_on.day == 1  # the calendar month holding today
    assert alerts.response_alerts_reconcile(now=timezone.now() + dt.timedelta(hours=1)) == 0
    assert Alert.objects.count() == 0


def test_unchecked_anonymous_and_rule_less_responses_are_marked_without_evaluation(
    django_assert_num_queries,
) -> None:  # noqa: ANN001
    anonymous = build_world("staff")
    anonymous.survey.anonymous = True
    anonymous.survey.save()
    detractor_rule(anonymous.survey)
    # An anonymous row left unchecked (stored before checks were set at completion).
    add_responses(anonymous, nps_specs([0]))
    Response.objects.filter(survey=anonymous.survey).update(
        completed_at=None, completed_on=dt.date(2026, 6, 1), alerts_checked_at=None
    )
    quiet = build_world("employees")  # no rules at all
    add_responses(quiet, nps_specs([0, 1]))
    Response.objects.filter(survey=quiet.survey).update(completed_at=timezone.now())
    now = timezone.now() + RESPONSE_CHECK_GRACE + dt.timedelta(minutes=1)

    # 1-3 savepoint, mark the anonymous response (no completion time), release; 4 savepoint,
    # 5 claim the two named ones, 6 the rules of their audience (none), 7 mark them, 8 release.
    with django_assert_num_queries(8):
        assert alerts.response_alerts_reconcile(now=now) == 3

    assert Alert.objects.count() == 0
    assert Response.objects.filter(alerts_checked_at__isnull=True).count() == 0
    # The anonymous response is marked with the day it is stored on, never the day of the run.
    assert Response.objects.get(survey=anonymous.survey).alerts_checked_at == midnight(
        dt.date(2026, 6, 1)
    )
    assert set(
        Response.objects.filter(survey=quiet.survey).values_list("alerts_checked_at", flat=True)
    ) == {now}


def test_the_rules_task_marks_an_anonymous_response_with_its_stored_day_unevaluated(
    survey,
) -> None:  # noqa: ANN001
    AlertRule.objects.create(
        audience=survey.audience, name="Shipping", condition=RuleCondition.KEYWORD, keywords="kargo"
    )
    survey.anonymous = True
    survey.save()
    response = Response.objects.create(
        survey=survey,
        audience=survey.audience,
        channel="email",
        language="en",
        completed_on=dt.date(2026, 10, 1),
    )
    Answer.objects.create(
        response=response, question=survey.questions.get(key="improve"), text="Kargo geç"
    )

    with mock.patch.object(alerts, "_rules_apply") as evaluate:
        assert alerts.response_alerts_open(response_id=response.pk) == []

    evaluate.assert_not_called()  # the rules never receive an anonymous response's text
    response.refresh_from_db()
    assert response.alerts_checked_at == midnight(dt.date(2026, 10, 1))
    assert Alert.objects.count() == 0


def test_unchecked_history_past_the_horizon_is_marked_and_opens_nothing() -> None:
    world = build_world()
    detractor_rule(world.survey)
    # Bulk-inserted (an import, the demo's seed): no task ever ran for these responses.
    add_responses(world, nps_specs([0, 1, 2]))
    far = NOON + RESPONSE_CHECK_HORIZON + dt.timedelta(seconds=1)

    assert alerts.response_alerts_reconcile(now=far) == 3

    assert Alert.objects.count() == 0
    assert Case.objects.count() == 0
    assert set(Response.objects.values_list("alerts_checked_at", flat=True)) == {day_start(far)}


def test_unfinished_responses_are_left_alone() -> None:
    world = build_world()
    detractor_rule(world.survey)
    add_responses(world, nps_specs([0], completed=False))

    assert alerts.response_alerts_reconcile(now=PAST_GRACE) == 0
    assert Response.objects.get().alerts_checked_at is None


def test_each_run_checks_a_bounded_number_of_batches() -> None:
    world = build_world()
    detractor_rule(world.survey)
    add_responses(world, nps_specs([1, 2, 3, 4, 5]))

    assert alerts.response_alerts_reconcile(now=PAST_GRACE, batch_size=2, batches=2) == 4
    assert Response.objects.filter(alerts_checked_at__isnull=True).count() == 1
    assert alerts.response_alerts_reconcile(now=PAST_GRACE, batch_size=2, batches=2) == 1
    assert Alert.objects.count() == Case.objects.count() == 5


@pytest.mark.parametrize("lost", [2, 6])
def test_a_batch_costs_the_same_queries_however_many_responses(
    django_assert_num_queries, lost
) -> None:  # noqa: ANN001
    world = build_world()
    detractor_rule(world.survey)
    detractor_rule(world.survey, name="Unhappy", question_type="csat", threshold=2)
    add_responses(world, [{"nps": 1, "csat": 1, "comment": "late"}] * lost)

    # 1-3 savepoint, mark the responses no rule may see, release; 4 savepoint, 5 claim the
    # responses with their survey and audience, 6 the rules of their audiences, 7 the answers,
    # 8 insert the alerts, 9 the alerts inserted, 10 insert the cases, 11 mark them, 12 release.
    with django_assert_num_queries(12):
        assert alerts.response_alerts_reconcile(now=PAST_GRACE, batch_size=10) == lost

    assert Alert.objects.count() == Case.objects.count() == 2 * lost
    assert Alert.objects.filter(notify=NotifyMode.IMMEDIATE).count() == 2 * lost


def test_the_beat_task_runs_the_reconciler_every_minute_with_an_expiry() -> None:
    world = build_world()
    detractor_rule(world.survey)
    add_responses(world, nps_specs([3]))

    assert response_alerts_reconcile_task.delay(PAST_GRACE.isoformat()).get() == 1
    assert Case.objects.count() == 1
    entry = BEAT_SCHEDULE["metrics-response-alerts-reconcile"]
    assert (entry["task"], entry["schedule"]) == ("metrics.response_alerts_reconcile_task", 60.0)
    assert entry["options"]["expires"] == 55


@pytest.mark.django_db(transaction=True)
def test_a_response_claimed_by_another_run_is_skipped_not_waited_for(needs_postgres) -> None:
    world = build_world()
    detractor_rule(world.survey)
    first, second = add_responses(world, nps_specs([1, 2]))
    with row_locked_elsewhere(Response, first.pk):
        assert alerts.response_alerts_reconcile(now=PAST_GRACE) == 1
        assert list(Alert.objects.values_list("response_id", flat=True)) == [second.pk]

    assert alerts.response_alerts_reconcile(now=PAST_GRACE) == 1
    assert sorted(Alert.objects.values_list("response_id", flat=True)) == [first.pk, second.pk]
