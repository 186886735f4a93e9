"""Fault drill: a worker SIGKILLed while it relays outbox rows; each handler's effect once.

Before any worker runs, respondents complete responses (every other one a detractor) over the
hosted pages and events are posted to the API, so the outbox holds a backlog: per response the
closed loop's and the webhooks' handlers, per event the trigger planner. One worker starts
relaying (threads pool, as the Procfile runs it); once it has handled part of the backlog it
is SIGKILLed in the middle of a claimed batch. A fresh worker, as a supervisor would start,
relays the rest. The rows the dead worker held come back when their lease ends: the drill ends
the leases at once (their `available_at`, and the webhook deliveries' `next_attempt_at`, set
to now: what five minutes would do) and lets the sweep and the webhook retry run.

Database effects happen exactly once (a handler's writes commit with its row's done mark):
one alert and one case per detractor, one webhook delivery per response and per alert, one
trigger invitation per event. Effects outside the database happen once each too, save the one
the worker was performing when it died: at most one webhook post is repeated (receivers
dedupe by X-XM-Delivery) and at most one alert notice is left unconfirmed, never sent twice.
"""

import datetime as dt
import os
import signal
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from metrics.models import Alert
from surveys.models import Invitation
from tests.integration.checks import closed_loop, leases_end, other_mails, outbox_states, twice
from tests.integration.world import drill_world
from tests.support.workers import celery_workers, wait_until
from xmplatform.api.models import DeliveryState, WebhookDelivery
from xmplatform.api.tasks import webhooks_retry_due_task
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.tasks import outbox_relay_task, outbox_sweep_task

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RESPONSES = 80
EVENTS = 80


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _done() -> int:
    return OutboxMessage.objects.filter(state=OutboxState.DONE).count()


def _idle() -> bool:
    """Nothing owed now: no pending row, no delivery left to post."""
    return (
        not OutboxMessage.objects.filter(state=OutboxState.PENDING).exists()
        and not WebhookDelivery.objects.filter(state=DeliveryState.PENDING).exists()
    )


def test_worker_killed_mid_batch_leaves_each_effect_once(mail, hooks) -> None:
    world = drill_world(respondents=RESPONSES, trigger_people=EVENTS, webhook_url=hooks.url)
    # Planned a day ahead: the effect of an event is its invitation row (sending has its own
    # kill drill in tests/surveys/test_sending_workers.py).
    world.trigger_rule.delay = dt.timedelta(days=1)
    world.trigger_rule.save(update_fields=["delay"])
    respondent = Client()
    for i, token in enumerate(world.tokens):
        page = respondent.post(
            f"/s/{token}/", {"page": "1", "lang": "en", "q-nps": 3 + 6 * (i % 2)}
        )
        assert page.status_code == 302, page.content[:300]
    shop = APIClient()
    shop.credentials(HTTP_AUTHORIZATION=f"Bearer {world.api_key}")
    now = timezone.now().isoformat()
    for person in world.trigger_people:
        body = [{"person": person, "touchpoint": "checkout", "occurred_at": now}]
        assert shop.post("/api/v1/events/", body, format="json").json()["accepted"] == 1
    backlog = OutboxMessage.objects.filter(state=OutboxState.PENDING).count()
    assert backlog >= 2 * RESPONSES + EVENTS

    extra = {"EMAIL_URL": f"smtp://127.0.0.1:{mail.port}", "WEBHOOK_ALLOW_PRIVATE": "1"}
    with celery_workers(1, concurrency=2, pool="threads", extra_env=extra) as (victim,):
        outbox_relay_task.delay()
        assert wait_until(lambda: _done() >= backlog // 3, timeout=60), outbox_states()
        for child in _children(victim.pid):
            os.kill(child, signal.SIGKILL)
        os.kill(victim.pid, signal.SIGKILL)
        killed_at, killed_at_done = timezone.now(), _done()
    # Rows the dead worker claimed and never finished: still within their lease.
    held = (
        OutboxMessage.objects.filter(state=OutboxState.PENDING, available_at__gt=timezone.now())
        .exclude(claim="")
        .count()
    )
    leases_end(claimed_before=killed_at)

    with celery_workers(1, concurrency=2, pool="threads", extra_env=extra):
        outbox_relay_task.delay()

        def settled() -> bool:
            if _idle():
                return True
            # What beat does every minute (sweep) and every 15 s (failed and leased posts).
            outbox_sweep_task.delay()
            webhooks_retry_due_task.delay()
            return False

        assert wait_until(settled, timeout=90, interval=1.0), outbox_states()

    assert 0 < killed_at_done < backlog
    assert held > 0  # the kill left claimed rows behind: it hit a batch in progress
    assert outbox_states() == {"done": _done()}
    loop = closed_loop()
    assert len(loop["detractors"]) == RESPONSES // 2
    assert loop["alerts_per_response"] == Counter(dict.fromkeys(loop["detractors"], 1))
    assert loop["cases"] == RESPONSES // 2
    assert loop["deliveries"] == {"delivered": RESPONSES + RESPONSES // 2}
    posts = hooks.deliveries()
    assert len(posts) == loop["delivered"]
    assert len(twice(posts)) <= 1
    per_event = Counter(
        Invitation.objects.filter(rule=world.trigger_rule).values_list("event_id", flat=True)
    )
    assert len(per_event) == EVENTS
    assert set(per_event.values()) == {1}
    notices = Counter(m["To"] for m in other_mails(mail))
    notified = Alert.objects.filter(notified_at__isnull=False).count()
    assert notices == {"customers-owner@example.com": notified}
    assert notified >= RESPONSES // 2 - 1
    print(
        f"\nkilled after {killed_at_done} of {backlog} rows ({held} held by the dead worker);"
        f" outbox {outbox_states()}, {sum(posts.values())} posts for {len(posts)} deliveries"
    )
