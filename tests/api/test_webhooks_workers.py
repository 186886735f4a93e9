"""Webhooks through real Celery workers and Redis: a response completed over the API reaches a
local receiver signed, after two failures, with retries picked up from the database. The
workers allow private receivers (WEBHOOK_ALLOW_PRIVATE=1): the receiver listens on loopback."""

import json
import time

import pytest

from surveys.services import invitation_create
from tests.api.test_webhooks import SECRET, Receiver, documented_verify
from tests.support.workers import celery_workers, wait_until
from xmplatform.api.models import DeliveryState, Webhook, WebhookDelivery
from xmplatform.api.tasks import webhooks_retry_due_task

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
