"""The admin shows a new API key once, and lists webhook deliveries with a retry action."""

import re

import pytest
from django.utils import timezone

from xmplatform.api import keys
from xmplatform.api.models import ApiKey, DeliveryState, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_new_key_is_shown_once_and_only_its_hash_is_stored(client, xm_manager, world):
    client.force_login(xm_manager)
    response = client.post(
        "/admin/api/apikey/add/",
        {"name": "Shop", "audiences": [world.customers.pk], "rate_per_minute": 600},
        follow=True,
    )
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="Shop")
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 2
    notice = next(m for m in shown if "copy it now" in m)
    plain = re.search(r"xm_[0-9a-f]{8}_[A-Za-z0-9_-]+", notice).group(0)
    assert keys.key_matches(plain, api_key.key_hash)
    assert list(api_key.audiences.all()) == [world.customers]
    again = client.get(f"/admin/api/apikey/{api_key.pk}/change/")
    assert plain.encode() not in again.content


def test_revoke_action_revokes_the_key(client, xm_manager, world, full_key):
    client.force_login(xm_manager)
    api_key = ApiKey.objects.get()
    client.post(
        "/admin/api/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
    )
    assert ApiKey.objects.get().revoked_at is not None


def test_webhook_gets_a_secret_and_shows_its_deliveries(client, xm_manager, world):
    client.force_login(xm_manager)
    response = client.post(
        "/admin/api/webhook/add/",
        {
            "name": "CRM",
            "url": "https://crm.example.com/hooks/xm",
            "events": ["response.completed"],
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    webhook = Webhook.objects.get()
    assert (webhook.events, len(webhook.secret)) == (["response.completed"], 64)
    WebhookDelivery.objects.create(
        webhook=webhook,
        event="response.completed",
        object_id=7,
        payload={},
        state=DeliveryState.FAILED,
        attempts=8,
        status_code=502,
        error="HTTP 502: bad gateway",
    )
    page = client.get(f"/admin/api/webhook/{webhook.pk}/change/")
    assert b"HTTP 502: bad gateway" in page.content
    log = client.get("/admin/api/webhookdelivery/?state=failed")
    assert b"response.completed" in log.content


def test_retry_now_makes_failed_deliveries_due(client, xm_manager, world):
    client.force_login(xm_manager)
    webhook = Webhook.objects.create(name="CRM", url="https://crm.example.com/", secret="s")
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event="alert.opened", object_id=1, payload={}, state=DeliveryState.FAILED
    )
    client.post(
        "/admin/api/webhookdelivery/",
        {"action": "retry_now", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at <= timezone.now()
