"""Webhook deliveries through the outbox: logged by the handlers of `response.completed`,
`alert.opened` and `case.changed` in their own transaction, first attempted by `webhook.due`
whatever the broker does, and retried by the beat only after a failed post or a worker that
died mid-post."""

import datetime as dt
import importlib
import re
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from tests.api.test_webhooks import SECRET, Receiver, _alert, announce
from xmplatform.api import handlers, services, tasks
from xmplatform.api.models import DeliveryState, Webhook, WebhookDelivery
from xmplatform.beat import BEAT_SCHEDULE
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.outbox import outbox_relay

pytestmark = pytest.mark.django_db

DUE_HANDLER = "xmplatform.api.handlers.webhook_due_handler"
API = Path(__file__).resolve().parents[2] / "xmplatform" / "api"


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:  # noqa: ANN001
    settings.WEBHOOK_ALLOW_PRIVATE = True


def _log_alert_delivery(world, url: str = "http://127.0.0.1:9/") -> WebhookDelivery:  # noqa: ANN001
    """An alert's delivery logged by its handler; nothing after the commit runs."""
    Webhook.objects.create(name="Ops", url=url, secret=SECRET, events=["alert.opened"])
    alert = _alert(world)
    handlers.alert_opened_handler(message_id=1, alert_id=alert.pk)
    return WebhookDelivery.objects.get()


def test_logging_a_delivery_owes_its_first_attempt_in_the_same_transaction(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = _log_alert_delivery(world)

    due = OutboxMessage.objects.get(event="webhook.due")
    assert (due.handler, due.payload, due.state) == (
        DUE_HANDLER,
        {"delivery_ids": [delivery.pk]},
        OutboxState.PENDING,
    )
    assert (delivery.state, delivery.attempts) == (DeliveryState.PENDING, 0)
    # After the commit only the relay is woken: no Celery task of the API's own.
    assert [c.__name__ for c in callbacks] == ["outbox_wake"]


def test_a_change_rolled_back_owes_no_delivery(world):
    Webhook.objects.create(name="Ops", url="http://127.0.0.1:9/", secret=SECRET)
    alert = _alert(world)

    with pytest.raises(RuntimeError), transaction.atomic():
        handlers.alert_opened_handler(message_id=1, alert_id=alert.pk)
        raise RuntimeError("the change failed")

    assert (WebhookDelivery.objects.count(), OutboxMessage.objects.count()) == (0, 0)


def test_first_attempts_reach_the_receiver_though_the_broker_is_down(
    world, django_capture_on_commit_callbacks, caplog
):
    with Receiver([]) as receiver:
        Webhook.objects.create(name="Ops", url=receiver.url, secret=SECRET)
        alert = _alert(world)
        with (
            mock.patch(
                "xmplatform.core.tasks.outbox_relay_task.apply_async",
                side_effect=OperationalError("Error 111 connecting to redis: refused"),
            ),
            django_capture_on_commit_callbacks(execute=True),
        ):
            announce("alert.opened", alert_id=alert.pk)
            assert receiver.requests == []
            # The minute's sweep: the alert's handlers, then the webhook.due they wrote.
            outbox_relay()
            outbox_relay()

        assert len(receiver.requests) == 1
    assert "the sweep relays it" in caplog.text
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)
    assert list(
        OutboxMessage.objects.filter(handler__startswith="xmplatform.api.")
        .order_by("id")
        .values_list("event", "state")
    ) == [("alert.opened", OutboxState.DONE), ("webhook.due", OutboxState.DONE)]


def test_the_retry_beat_takes_failed_posts_and_ended_leases_never_a_first_attempt(world):
    delivery = _log_alert_delivery(world)
    now = timezone.now()

    # Never attempted: its first attempt is the outbox's, however late.
    assert services.webhook_deliveries_due(now=now + dt.timedelta(days=1)) == []
    assert services.webhook_delivery_claim(delivery_id=delivery.pk, now=now) is True
    assert services.webhook_delivery_claim(delivery_id=delivery.pk, now=now) is False
    # Claimed: leased to its worker, then the beat's once the lease ends.
    assert services.webhook_deliveries_due(now=now + services.LEASE - dt.timedelta(seconds=1)) == []
    after_lease = now + services.LEASE + dt.timedelta(seconds=1)
    assert services.webhook_deliveries_due(now=after_lease) == [delivery.pk]


def test_a_worker_that_dies_mid_post_leaves_the_delivery_to_the_retry_beat(
    world, django_capture_on_commit_callbacks
):
    with Receiver([]) as receiver:
        delivery = _log_alert_delivery(world, receiver.url)
        # The relay runs webhook.due and commits; the worker dies before its post.
        with django_capture_on_commit_callbacks(execute=False):
            assert outbox_relay() == 1
        assert OutboxMessage.objects.get(event="webhook.due").state == OutboxState.DONE
        delivery.refresh_from_db()
        assert (delivery.attempts, receiver.requests) == (1, [])
        # The same webhook.due run again (a second relay, an operator's retry) posts nothing.
        with django_capture_on_commit_callbacks(execute=True):
            handlers.webhook_due_handler(message_id=2, delivery_ids=[delivery.pk])
        assert receiver.requests == []
        # The lease ends: the retry beat posts it, once.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
        )
        assert tasks.webhooks_retry_due_task() == 1
        assert tasks.webhooks_retry_due_task() == 0
        assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 2)


def test_a_relay_that_dies_before_its_commit_claims_nothing_and_posts_once_when_rerun(
    world, django_capture_on_commit_callbacks
):
    with Receiver([]) as receiver:
        delivery = _log_alert_delivery(world, receiver.url)
        with pytest.raises(RuntimeError), transaction.atomic():
            handlers.webhook_due_handler(message_id=1, delivery_ids=[delivery.pk])
            raise RuntimeError("killed before the commit")
        delivery.refresh_from_db()
        assert (delivery.attempts, receiver.requests) == (0, [])

        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_relay() == 1
        assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.DELIVERED, 1)


def test_a_receiver_that_fails_is_the_webhooks_retry_not_an_outbox_failure(
    world, django_capture_on_commit_callbacks
):
    with Receiver([500]) as receiver:
        delivery = _log_alert_delivery(world, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            outbox_relay()
        assert len(receiver.requests) == 1
    due = OutboxMessage.objects.get(event="webhook.due")
    assert (due.state, due.attempts, due.last_error) == (OutboxState.DONE, 1, "")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.status_code, delivery.error) == (
        DeliveryState.PENDING,
        1,
        500,
        "HTTP 500 Internal Server Error",
    )
    assert delivery.next_attempt_at > delivery.last_attempt_at


def test_nothing_subscribed_costs_each_handler_one_query(world, django_assert_num_queries):
    Webhook.objects.create(name="Off", url="http://127.0.0.1:9/", secret=SECRET, active=False)
    alert = _alert(world)
    with django_assert_num_queries(3):
        handlers.response_completed_handler(message_id=1, response_id=1)
        handlers.alert_opened_handler(message_id=2, alert_id=alert.pk)
        handlers.case_changed_handler(message_id=3, case_id=1)
    assert OutboxMessage.objects.count() == 0


def test_beat_keeps_only_the_retry_of_failed_posts():
    assert "api-webhooks-alerts-reconcile" not in BEAT_SCHEDULE
    entry = BEAT_SCHEDULE["api-webhooks-retry-due"]
    assert (entry["task"], entry["schedule"]) == ("api.webhooks_retry_due_task", 15.0)


def test_the_api_enqueues_no_task_and_registers_no_listener():
    """Only the API's own tasks module enqueues (the retry beat, in a worker); the views,
    operations and handlers never touch the broker, and nothing is registered at start-up."""
    enqueues = re.compile(r"\.delay\(|\.apply_async\(|AsyncResult|\bhooks\b")
    found = [
        f"{path.relative_to(API)}:{number}"
        for path in sorted(API.rglob("*.py"))
        if path.name != "tasks.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if enqueues.search(line)
    ]
    assert found == []
    assert not (API / "listeners.py").exists()


def test_migration_owes_the_first_attempt_of_deliveries_logged_before(world):
    migration = importlib.import_module("xmplatform.api.migrations.0004_webhook_case_changed")
    webhook = Webhook.objects.create(name="CRM", url="http://127.0.0.1:9/", secret=SECRET)

    def log(object_id: int, **extra) -> int:  # noqa: ANN003
        return WebhookDelivery.objects.create(
            webhook=webhook, event="alert.opened", object_id=object_id, payload={}, **extra
        ).pk

    never = [log(i) for i in range(1, 103)]
    log(200, attempts=1)  # failed once: the retry beat's
    log(201, state=DeliveryState.DELIVERED, attempts=1)

    migration.owe_first_attempts(django_apps, None)

    rows = list(OutboxMessage.objects.order_by("id").values_list("event", "handler", "payload"))
    assert rows == [
        ("webhook.due", DUE_HANDLER, {"delivery_ids": never[:100]}),
        ("webhook.due", DUE_HANDLER, {"delivery_ids": never[100:]}),
    ]
