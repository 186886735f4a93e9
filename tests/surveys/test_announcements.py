"""Completion announcements: a response whose completion task was lost is announced again.

A lost task is simulated by a completion publish that does nothing (what a Redis outage or a
worker killed before the ack leaves behind); the reconciler then runs with `now` past the grace.
Each listener is idempotent, so a late task meeting the reconciler costs nothing twice.
"""

import datetime as dt
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from metrics.models import Alert, Case
from surveys import hooks
from surveys.hooks import ANNOUNCE_GRACE, ANNOUNCE_HORIZON, completions_reconcile
from surveys.models import Response, Survey
from surveys.tasks import completions_reconcile_task, response_completed_task
from tests.metrics.closed_loop_support import contact_survey, detractor_rule, invite, submit
from tests.support.locks import row_locked_elsewhere
from tests.surveys.test_hosted_support import plain_static_files  # noqa: F401 - autouse
from xmplatform.api.models import Webhook, WebhookDelivery
from xmplatform.beat import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db

SECRET = "5e" * 32


@pytest.fixture
def survey() -> Survey:
    survey = contact_survey()
    detractor_rule(survey)
    return survey


@pytest.fixture
def webhook() -> Webhook:
    # Nothing listens on port 9: attempts are not what these tests look at.
    return Webhook.objects.create(
        name="CRM", url="http://127.0.0.1:9/hook", secret=SECRET, events=["response.completed"]
    )


def _complete(capture, survey: Survey, *, lost: bool, external_id: str = "p-1") -> Response:  # noqa: ANN001
    """Answer through the hosted pages; `lost`: the completion task never reaches a worker."""
    _, token = invite(survey, external_id=external_id)
    with mock.patch.object(
        response_completed_task, "delay", wraps=None if lost else response_completed_task.delay
    ) as publish:
        with capture(execute=True):
            submit(Client(), token, nps="3")
    assert publish.call_count == 1
    return Response.objects.filter(survey=survey).latest("pk")


def _after_grace(response: Response) -> dt.datetime:
    return response.completed_at + ANNOUNCE_GRACE + dt.timedelta(seconds=1)


def test_completion_task_calls_the_listeners_and_marks_the_response(
    django_capture_on_commit_callbacks, django_assert_num_queries, survey, webhook
) -> None:  # noqa: ANN001
    response = _complete(django_capture_on_commit_callbacks, survey, lost=False)

    response.refresh_from_db()
    assert response.announced_on == timezone.localdate()
    assert Case.objects.count() == 1
    assert WebhookDelivery.objects.filter(object_id=response.pk).count() == 1
    # 1-3 savepoint, mark the history, release; 4-6 savepoint, claim (nothing), release.
    with django_assert_num_queries(6):
        assert completions_reconcile(now=_after_grace(response)) == 0


def test_lost_completion_task_gets_its_webhook_and_case_from_the_reconciler(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    response = _complete(django_capture_on_commit_callbacks, survey, lost=True)
    assert (response.announced_on, WebhookDelivery.objects.count(), Case.objects.count()) == (
        None,
        0,
        0,
    )

    now = _after_grace(response)
    with django_capture_on_commit_callbacks(execute=False):
        assert completions_reconcile(now=now) == 1

    delivery = WebhookDelivery.objects.get()
    assert (delivery.webhook, delivery.event, delivery.object_id) == (
        webhook,
        "response.completed",
        response.pk,
    )
    assert delivery.payload["data"]["id"] == response.pk
    assert Case.objects.get().response == response
    response.refresh_from_db()
    assert response.announced_on == now.date()
    # Announced once: a later run, or the lost task turning up after all, adds nothing.
    assert completions_reconcile(now=now + dt.timedelta(minutes=1)) == 0
    with django_capture_on_commit_callbacks(execute=False):
        response_completed_task(response.pk)
    assert (WebhookDelivery.objects.count(), Alert.objects.count(), Case.objects.count()) == (
        1,
        1,
        1,
    )


def test_reconciler_leaves_completions_inside_the_grace_to_their_task(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    response = _complete(django_capture_on_commit_callbacks, survey, lost=True)
    just_before = response.completed_at + ANNOUNCE_GRACE - dt.timedelta(seconds=1)

    assert completions_reconcile(now=response.completed_at) == 0
    assert completions_reconcile(now=just_before) == 0
    assert WebhookDelivery.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False):
        assert completions_reconcile(now=_after_grace(response)) == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_listener_that_fails_leaves_its_response_for_the_next_run(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    first = _complete(django_capture_on_commit_callbacks, survey, lost=True, external_id="p-1")
    second = _complete(django_capture_on_commit_callbacks, survey, lost=True, external_id="p-2")
    calls: list[int] = []

    def flaky(response_id: int) -> None:
        calls.append(response_id)
        if response_id == first.pk and calls.count(first.pk) == 1:
            raise RuntimeError("the CRM's database is down")

    hooks.register_response_listener(flaky)
    try:
        now = _after_grace(second)
        with django_capture_on_commit_callbacks(execute=False):
            assert completions_reconcile(now=now) == 1
        # The failed call's own writes (the webhook delivery logged before it) are undone.
        assert list(WebhookDelivery.objects.values_list("object_id", flat=True)) == [second.pk]
        assert Response.objects.get(pk=first.pk).announced_on is None
        assert calls == [first.pk, second.pk]  # tried once in the run, not once per batch

        with django_capture_on_commit_callbacks(execute=False):
            assert completions_reconcile(now=now + dt.timedelta(minutes=1)) == 1
    finally:
        hooks.unregister_response_listener(flaky)
    assert sorted(WebhookDelivery.objects.values_list("object_id", flat=True)) == sorted(
        [first.pk, second.pk]
    )
    assert Response.objects.filter(announced_on__isnull=True).count() == 0


def test_anonymous_completion_is_announced_to_nobody_and_marked_on_its_period_start(
    django_capture_on_commit_callbacks, webhook
) -> None:  # noqa: ANN001
    survey = contact_survey(anonymous=True)
    detractor_rule(survey)
    _, token = invite(survey)
    with mock.patch.object(response_completed_task, "delay") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            submit(Client(), token, nps="3")

    response = Response.objects.get()
    first_day = timezone.localdate().replace(day=1)  # its period: the calendar month
    # No task, so no listener hears when it arrived; nothing dates it by the day it came.
    assert publish.call_count == 0
    assert (response.completed_at, response.completed_on, response.announced_on) == (
        None,
        first_day,
        first_day,
    )
    assert response.alerts_checked_at == dt.datetime.combine(first_day, dt.time.min, tzinfo=dt.UTC)
    assert completions_reconcile(now=timezone.now() + dt.timedelta(days=1)) == 0
    assert (WebhookDelivery.objects.count(), Alert.objects.count(), Case.objects.count()) == (
        0,
        0,
        0,
    )


def test_a_completion_without_a_time_found_unannounced_is_marked_on_its_own_day(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    """Rows kept without a time (unlinked, or stored before the rule) are marked, never called."""
    response = _complete(django_capture_on_commit_callbacks, survey, lost=True)
    Response.objects.filter(pk=response.pk).update(completed_at=None)

    assert completions_reconcile(now=timezone.now() + dt.timedelta(minutes=1)) == 1

    assert WebhookDelivery.objects.count() == 0
    assert Response.objects.get().announced_on == response.completed_on


def test_unannounced_history_past_the_horizon_is_marked_without_a_call(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    response = _complete(django_capture_on_commit_callbacks, survey, lost=True)
    far = response.completed_at + ANNOUNCE_HORIZON + dt.timedelta(days=1)

    assert completions_reconcile(now=far) == 1

    assert (WebhookDelivery.objects.count(), Case.objects.count()) == (0, 0)
    assert Response.objects.get().announced_on == far.date()


def test_unfinished_responses_are_left_alone(survey, webhook) -> None:  # noqa: ANN001
    _, token = invite(survey)
    Client().post(f"/s/{token}/", {"page": "1", "q-nps": "3"})
    [started] = Response.objects.all()
    assert started.completed_on is None

    assert completions_reconcile(now=timezone.now() + ANNOUNCE_HORIZON * 2) == 0
    assert Response.objects.get().announced_on is None


def test_each_run_announces_a_bounded_number_of_batches(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    responses = [
        _complete(django_capture_on_commit_callbacks, survey, lost=True, external_id=f"p-{i}")
        for i in range(5)
    ]
    now = _after_grace(responses[-1])

    with django_capture_on_commit_callbacks(execute=False):
        assert completions_reconcile(now=now, batch_size=2, batches=2) == 4
        assert Response.objects.filter(announced_on__isnull=True).count() == 1
        assert completions_reconcile(now=now, batch_size=2, batches=2) == 1
    assert WebhookDelivery.objects.count() == Case.objects.count() == 5


def test_the_beat_task_runs_the_reconciler_every_minute_with_an_expiry(
    django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    response = _complete(django_capture_on_commit_callbacks, survey, lost=True)

    with django_capture_on_commit_callbacks(execute=False):
        assert completions_reconcile_task.delay(_after_grace(response).isoformat()).get() == 1
    assert WebhookDelivery.objects.count() == 1
    entry = BEAT_SCHEDULE["surveys-completions-reconcile"]
    assert (entry["task"], entry["schedule"]) == ("surveys.completions_reconcile_task", 60.0)
    assert entry["options"]["expires"] == 55


@pytest.mark.django_db(transaction=True)
def test_a_completion_claimed_by_another_run_is_skipped_not_waited_for(
    needs_postgres, django_capture_on_commit_callbacks, survey, webhook
) -> None:  # noqa: ANN001
    first = _complete(django_capture_on_commit_callbacks, survey, lost=True, external_id="p-1")
    second = _complete(django_capture_on_commit_callbacks, survey, lost=True, external_id="p-2")
    with row_locked_elsewhere(Response, first.pk):
        with mock.patch("xmplatform.api.tasks.webhook_deliver_task.delay"):
            assert completions_reconcile(now=_after_grace(second)) == 1
        assert list(WebhookDelivery.objects.values_list("object_id", flat=True)) == [second.pk]

    with mock.patch("xmplatform.api.tasks.webhook_deliver_task.delay"):
        assert completions_reconcile(now=_after_grace(second)) == 1
    assert sorted(WebhookDelivery.objects.values_list("object_id", flat=True)) == sorted(
        [first.pk, second.pk]
    )
