"""Webhooks through real Celery workers and Redis: a response completed over the API reaches a
local receiver signed, after two failures, with retries picked up from the database; an alert
whose wake was lost in the broker is posted once by the outbox's sweep. The workers allow
private receivers (WEBHOOK_ALLOW_PRIVATE=1): the receivers listen on loopback."""

import json
import time

import pytest
from django.db import transaction

from surveys.services import invitation_create
from tests.api.test_webhooks import SECRET, Receiver, _alert, documented_verify
from tests.support.workers import celery_workers, wait_until
from xmplatform.api.models import DeliveryState, Webhook, WebhookDelivery
from xmplatform.api.tasks import webhooks_retry_due_task
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.outbox import outbox_emit
from xmplatform.core.tasks import outbox_sweep_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_delivers_after_two_failures_with_backoff(api, world):
    with (
        Receiver([500, 502]) as receiver,
        celery_workers(
            1, extra_env={"WEBHOOK_RETRY_BASE_SECONDS": "0.5", "WEBHOOK_ALLOW_PRIVATE": "1"}
        ),
    ):
        Webhook.objects.create(name="CRM", url=receiver.url, secret=SECRET)
        _inv, token = invitation_create(
            survey=world.customer_survey, person=world.ayse, channel="app"
        )
        posted = api.post(
            "/api/v1/responses/", {"token": token, "answers": {"nps": 7}}, format="json"
        )
        assert posted.status_code == 201

        def delivered() -> bool:
            # What the beat entry does every 15 s, here every half second.
            webhooks_retry_due_task.delay()
            time.sleep(0.5)
            return WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists()

        assert wait_until(delivered, timeout=60)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.status_code) == (3, 200)
    assert [json.loads(r["body"])["data"]["id"] for r in receiver.requests] == [
        posted.json()["id"]
    ] * 3
    verify = documented_verify()
    assert all(verify(SECRET, r["body"], r["headers"]["X-XM-Signature"]) for r in receiver.requests)
    first, second, third = (r["at"] for r in receiver.requests)
    assert second - first >= 0.5
    assert third - second >= 1.0


def test_a_wake_lost_in_the_broker_is_posted_once_by_the_sweep(world):
    """The alert commits while no worker runs, and its wake is dropped from the queue (a Redis
    restart): the minute's sweep relays the alert, the relay's own wake runs webhook.due, and
    the receiver gets exactly one post."""
    with Receiver([]) as receiver:
        Webhook.objects.create(name="Ops", url=receiver.url, secret=SECRET, events=["alert.opened"])
        alert = _alert(world)
        with transaction.atomic():
            outbox_emit("alert.opened", alert_id=alert.pk)
        with celery_workers(1, extra_env={"WEBHOOK_ALLOW_PRIVATE": "1"}):  # purges the queue
            assert receiver.requests == []
            outbox_sweep_task.delay()  # what beat sends every minute
            assert wait_until(
                lambda: WebhookDelivery.objects.filter(state=DeliveryState.DELIVERED).exists(),
                timeout=60,
            )
            outbox_sweep_task.delay()
            time.sleep(2)
    assert [json.loads(r["body"])["data"]["id"] for r in receiver.requests] == [alert.pk]
    assert list(
        OutboxMessage.objects.filter(handler__startswith="xmplatform.api.")
        .order_by("id")
        .values_list("event", "state")
    ) == [("alert.opened", OutboxState.DONE), ("webhook.due", OutboxState.DONE)]
