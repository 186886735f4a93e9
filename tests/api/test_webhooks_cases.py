"""`case.changed` webhooks: each change of a follow-up case is delivered once per subscribed
webhook, with the case's id, state, assignee, alert, audience and when it changed, and
nothing about the respondent."""

import datetime as dt
import json

import pytest
from django.db import transaction
from django.utils import timezone

from metrics.models import Case, CaseStatus
from tests.api.test_webhooks import SECRET, Receiver, _alert, announce
from tests.factories import make_user
from xmplatform.api import handlers
from xmplatform.api.models import Webhook, WebhookDelivery, WebhookEvent
from xmplatform.core.models import OutboxMessage
from xmplatform.core.outbox import outbox_emit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:  # noqa: ANN001
    settings.WEBHOOK_ALLOW_PRIVATE = True


def _case(world) -> Case:  # noqa: ANN001
    alert = _alert(world)
    now = timezone.now()
    return Case.objects.create(
        alert=alert,
        audience=world.customers,
        person=world.ayse,
        title="Ayşe Yılmaz gave NPS 3 at checkout",
        opened_at=now,
        due_at=now + dt.timedelta(days=2),
    )


def test_each_change_of_a_case_is_delivered_with_its_state_assignee_alert_and_time(
    world, django_capture_on_commit_callbacks
):
    case = _case(world)
    agent = make_user("agent")
    with Receiver([]) as receiver:
        Webhook.objects.create(
            name="Helpdesk", url=receiver.url, secret=SECRET, events=["case.changed"]
        )
        # The case is assigned, then taken up (each change relayed after its commit).
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            Case.objects.filter(pk=case.pk).update(assignee=agent)
            outbox_emit("case.changed", case_id=case.pk)
        assigned_at = OutboxMessage.objects.get(event="case.changed").created_at
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            Case.objects.filter(pk=case.pk).update(status=CaseStatus.IN_PROGRESS)
            outbox_emit("case.changed", case_id=case.pk)

        bodies = [json.loads(r["body"]) for r in receiver.requests]
        events = [r["headers"]["X-XM-Event"] for r in receiver.requests]
    assert events == ["case.changed", "case.changed"]
    assert [b["data"] for b in bodies] == [
        {
            "id": case.pk,
            "state": "new",
            "assignee": agent.pk,
            "alert": case.alert_id,
            "audience": "customers",
            "updated_at": assigned_at.isoformat(),
        },
        {
            "id": case.pk,
            "state": "in_progress",
            "assignee": agent.pk,
            "alert": case.alert_id,
            "audience": "customers",
            "updated_at": bodies[1]["data"]["updated_at"],
        },
    ]
    assert bodies[1]["data"]["updated_at"] > assigned_at.isoformat()
    deliveries = WebhookDelivery.objects.order_by("id")
    # Logged with no person: the payload says nothing about the respondent.
    assert [(d.event, d.object_id, d.person_id) for d in deliveries] == [
        ("case.changed", case.pk, None)
    ] * 2


def test_a_case_change_is_logged_once_however_often_its_message_runs(world):
    case = _case(world)
    Webhook.objects.create(name="All", url="http://127.0.0.1:9/", secret=SECRET)

    handlers.case_changed_handler(message_id=7, case_id=case.pk)
    handlers.case_changed_handler(message_id=7, case_id=case.pk)
    handlers.case_changed_handler(message_id=8, case_id=case.pk)

    assert list(WebhookDelivery.objects.order_by("id").values_list("change", flat=True)) == [7, 8]


def test_a_case_change_reaches_only_webhooks_subscribed_to_it_and_of_its_audience(
    world, django_capture_on_commit_callbacks
):
    case = _case(world)
    everything = Webhook.objects.create(name="All", url="http://127.0.0.1:9/", secret=SECRET)
    Webhook.objects.create(
        name="Alerts only", url="http://127.0.0.1:9/", secret=SECRET, events=["alert.opened"]
    )
    Webhook.objects.create(
        name="HR", url="http://127.0.0.1:9/", secret=SECRET, audience=world.employees
    )

    handlers.case_changed_handler(message_id=1, case_id=case.pk)

    assert list(WebhookDelivery.objects.values_list("webhook", flat=True)) == [everything.pk]
    # A new webhook subscribes to every event, this one included.
    assert "case.changed" in everything.events
    assert WebhookEvent.CASE_CHANGED.label == "Case changed"


def test_a_case_gone_before_its_change_is_relayed_logs_nothing(world):
    Webhook.objects.create(name="All", url="http://127.0.0.1:9/", secret=SECRET)
    case = _case(world)
    case_id = case.pk
    case.alert.delete()

    handlers.case_changed_handler(message_id=1, case_id=case_id)

    assert WebhookDelivery.objects.count() == 0


def test_an_alert_and_its_case_reach_a_receiver_as_two_events(
    world, django_capture_on_commit_callbacks
):
    case = _case(world)
    with Receiver([]) as receiver:
        Webhook.objects.create(name="All", url=receiver.url, secret=SECRET)
        with django_capture_on_commit_callbacks(execute=True):
            announce("alert.opened", alert_id=case.alert_id)
            announce("case.changed", case_id=case.pk)
        events = sorted(r["headers"]["X-XM-Event"] for r in receiver.requests)
    assert events == ["alert.opened", "case.changed"]
