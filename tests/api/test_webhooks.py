"""Webhooks: signed JSON deliveries to a local receiver, retried with exponential backoff."""

import http.server
import importlib
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import transaction
from django.utils import timezone

from metrics.models import Alert, AlertRule, NotifyMode, RuleCondition
from surveys.models import Response
from surveys.services import invitation_create
from tests.support.servers import POLL_SECONDS
from xmplatform.api import handlers, tasks, webhooks
from xmplatform.api.models import DeliveryState, Webhook, WebhookDelivery
from xmplatform.core.outbox import outbox_emit

pytestmark = pytest.mark.django_db

SECRET = "a3f1c0de" * 8
README = Path(__file__).resolve().parents[2] / "README.md"


def documented_verify():
    """The `verify` function exactly as README documents it for receivers."""
    text = README.read_text(encoding="utf-8")
    code = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verify"]


class Receiver:
    """A local HTTP endpoint that answers with the given statuses in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"at": time.monotonic(), "headers": dict(self.headers), "body": body}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try again")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/xm"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings) -> None:  # noqa: ANN001
    """These tests post to a receiver they start on loopback: an on-premise set-up
    (tests/api/test_webhooks_destinations.py checks the refusal that is the default)."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver([500, 503]) as r:
        yield r


def _run_due_until_settled(timeout: float = 10.0) -> None:
    """What beat does every 15 s, here every 50 ms: enqueue the due deliveries (eager)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks.webhooks_retry_due_task()
        if not WebhookDelivery.objects.filter(state=DeliveryState.PENDING).exists():
            return
        time.sleep(0.05)


def announce(event: str, **payload: int) -> None:
    """What the domain does: owe `event` in the transaction of its change (relayed after it)."""
    with transaction.atomic():
        outbox_emit(event, **payload)


def test_completed_response_is_delivered_signed_and_retried_after_two_failures(
    api, world, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.3
    Webhook.objects.create(name="CRM", url=receiver.url, secret=SECRET)
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    with django_capture_on_commit_callbacks(execute=True):
        posted = api.post(
            "/api/v1/responses/", {"token": token, "answers": {"nps": 9}}, format="json"
        )
    assert posted.status_code == 201
    assert len(receiver.requests) == 1  # the first attempt ran at once, and failed

    _run_due_until_settled()

    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.status_code, delivery.error) == (
        DeliveryState.DELIVERED,
        3,
        200,
        "",
    )
    assert len(receiver.requests) == 3
    verify = documented_verify()
    for request in receiver.requests:
        assert verify(SECRET, request["body"], request["headers"]["X-XM-Signature"])
        assert request["headers"]["X-XM-Event"] == "response.completed"
        assert request["headers"]["X-XM-Delivery"] == str(delivery.pk)
    body = json.loads(receiver.requests[0]["body"])
    assert body["event"] == "response.completed"
    assert {k: body["data"][k] for k in ("id", "survey", "audience", "person", "answers")} == {
        "id": posted.json()["id"],
        "survey": world.customer_survey.pk,
        "audience": "customers",
        "person": "c-1",
        "answers": {"nps": 9},
    }
    first, second, third = (r["at"] for r in receiver.requests)
    # Exponential backoff: 0.3 s after the first failure, 0.6 s after the second.
    assert second - first >= 0.3
    assert third - second >= 0.6


def test_signature_does_not_verify_for_another_body_or_secret(
    api, world, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = []
    Webhook.objects.create(name="CRM", url=receiver.url, secret=SECRET)
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/responses/", {"token": token, "answers": {"nps": 9}}, format="json")
    request = receiver.requests[0]
    verify = documented_verify()
    header = request["headers"]["X-XM-Signature"]
    assert verify(SECRET, request["body"], header) is True
    assert verify(SECRET, request["body"].replace(b"9", b"1"), header) is False
    assert verify("another-secret", request["body"], header) is False


def test_webhook_for_one_audience_gets_only_its_events(
    api, world, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = []
    Webhook.objects.create(name="HR", url=receiver.url, secret=SECRET, audience=world.employees)
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/responses/", {"token": token, "answers": {"nps": 9}}, format="json")
    assert receiver.requests == []
    assert WebhookDelivery.objects.count() == 0


def test_receiver_that_never_answers_2xx_ends_failed_after_the_last_attempt(
    world, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    with Receiver([500] * 10) as r:
        Webhook.objects.create(name="down", url=r.url, secret=SECRET)
        alert = _alert(world)
        with django_capture_on_commit_callbacks(execute=True):
            announce("alert.opened", alert_id=alert.pk)
        _run_due_until_settled()
        assert len(r.requests) == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.status_code) == (
        DeliveryState.FAILED,
        3,
        500,
    )
    # The status line only: the receiver's body ("try again") is not kept.
    assert delivery.error == "HTTP 500 Internal Server Error"


def _alert(world) -> Alert:
    rule = AlertRule.objects.create(
        name="Detractors",
        audience=world.customers,
        condition=RuleCondition.ANSWER_AT_MOST,
        question_type="nps",
        threshold=6,
        notify=NotifyMode.NONE,
    )
    return Alert.objects.create(
        rule=rule,
        audience=world.customers,
        summary="NPS 3 at checkout",
        value=3,
        opened_at=timezone.now(),
        notify=NotifyMode.NONE,
    )


def test_opened_alert_is_delivered_with_its_summary(
    world, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = []
    Webhook.objects.create(name="Ops", url=receiver.url, secret=SECRET, events=["alert.opened"])
    alert = _alert(world)
    with django_capture_on_commit_callbacks(execute=True):
        announce("alert.opened", alert_id=alert.pk)
    body = json.loads(receiver.requests[0]["body"])
    assert body["event"] == "alert.opened"
    assert {k: body["data"][k] for k in ("id", "audience", "summary", "value", "rule")} == {
        "id": alert.pk,
        "audience": "customers",
        "summary": "NPS 3 at checkout",
        "value": 3.0,
        "rule": {"id": alert.rule_id, "name": "Detractors"},
    }


def test_webhook_not_subscribed_to_an_event_gets_nothing(
    world, receiver, django_capture_on_commit_callbacks
):
    Webhook.objects.create(
        name="Responses only", url=receiver.url, secret=SECRET, events=["response.completed"]
    )
    alert = _alert(world)
    with django_capture_on_commit_callbacks(execute=True):
        announce("alert.opened", alert_id=alert.pk)
    assert receiver.requests == []


def test_an_event_is_logged_once_per_webhook_even_when_announced_twice(
    world, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = []
    Webhook.objects.create(name="Ops", url=receiver.url, secret=SECRET)
    alert = _alert(world)
    with django_capture_on_commit_callbacks(execute=True):
        announce("alert.opened", alert_id=alert.pk)
        announce("alert.opened", alert_id=alert.pk)
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 1


# --- Anonymous surveys send no per-response event -----------------------------------------


def _anonymous_response(world) -> Response:  # noqa: ANN001
    return Response.objects.create(
        survey=world.employee_survey,
        audience=world.employees,
        channel="email",
        language="en",
        completed_on=timezone.now().date(),
    )


def test_anonymous_response_is_never_logged_or_delivered(
    api, world, receiver, django_capture_on_commit_callbacks
):
    receiver.statuses = []
    Webhook.objects.create(name="Everything", url=receiver.url, secret=SECRET)
    _inv, anonymous_token = invitation_create(
        survey=world.employee_survey, person=world.emre, channel="email"
    )
    _inv, named_token = invitation_create(
        survey=world.customer_survey, person=world.ayse, channel="app"
    )
    with django_capture_on_commit_callbacks(execute=True):
        anonymous = api.post(
            "/api/v1/responses/", {"token": anonymous_token, "answers": {"enps": 9}}, format="json"
        )
        named = api.post(
            "/api/v1/responses/", {"token": named_token, "answers": {"nps": 9}}, format="json"
        )

    assert (anonymous.status_code, named.status_code) == (201, 201)
    assert list(WebhookDelivery.objects.values_list("event", "object_id")) == [
        ("response.completed", named.json()["id"])
    ]
    assert [json.loads(r["body"])["data"]["survey"] for r in receiver.requests] == [
        world.customer_survey.pk
    ]


def test_no_path_logs_an_anonymous_response_completed(world, django_capture_on_commit_callbacks):
    Webhook.objects.create(name="Everything", url="http://127.0.0.1:9/", secret=SECRET)
    response = _anonymous_response(world)

    with django_capture_on_commit_callbacks(execute=False):
        handlers.response_completed_handler(message_id=1, response_id=response.pk)
        logged_by_old_task = tasks.webhooks_response_completed_task(response.pk)  # queued before

    assert logged_by_old_task == 0
    assert webhooks.response_completed_payload(response.pk) is None
    assert WebhookDelivery.objects.count() == 0


def test_alert_about_an_anonymous_response_names_no_response_or_person(world):
    alert = _alert(world)
    response = _anonymous_response(world)
    Alert.objects.filter(pk=alert.pk).update(response=response)

    built = webhooks.alert_opened_payload(alert.pk)

    assert (built.payload["data"]["response"], built.person_id) == (None, None)


def test_alert_about_a_named_response_names_it(world):
    alert = _alert(world)
    response = Response.objects.create(
        survey=world.customer_survey,
        audience=world.customers,
        person=world.ayse,
        channel="app",
        language="en",
        completed_on=timezone.now().date(),
    )
    Alert.objects.filter(pk=alert.pk).update(response=response)

    built = webhooks.alert_opened_payload(alert.pk)

    assert (built.payload["data"]["response"], built.person_id) == (response.pk, world.ayse.pk)


def test_migration_drops_the_deliveries_logged_for_anonymous_responses(world):
    migration = importlib.import_module(
        "xmplatform.api.migrations.0003_webhook_url_checked_anonymous_deliveries_dropped"
    )
    webhook = Webhook.objects.create(name="CRM", url="http://127.0.0.1:9/", secret=SECRET)
    anonymous = _anonymous_response(world)
    named = Response.objects.create(
        survey=world.customer_survey, audience=world.customers, channel="app", language="en"
    )

    def log(event: str, object_id: int, survey: int | None, **extra) -> None:  # noqa: ANN003
        WebhookDelivery.objects.create(
            webhook=webhook,
            event=event,
            object_id=object_id,
            payload={"event": event, "data": {"id": object_id, "survey": survey}},
            **extra,
        )

    log("response.completed", anonymous.pk, world.employee_survey.pk)
    log("response.completed", 10**12, world.employee_survey.pk, state=DeliveryState.DELIVERED)
    log("response.completed", named.pk, world.customer_survey.pk)
    log("alert.opened", anonymous.pk, None)

    migration.drop_anonymous_response_deliveries(django_apps, None)

    assert sorted(WebhookDelivery.objects.values_list("event", "object_id")) == [
        ("alert.opened", anonymous.pk),
        ("response.completed", named.pk),
    ]
