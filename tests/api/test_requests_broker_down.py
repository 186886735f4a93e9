"""The API never waits on the broker: with Redis refusing every enqueue, each write answers at
once and in full, and what it causes (planned invitations, response rules, webhooks) is owed in
the outbox, for the relay to run when the broker is back."""

import time
from collections.abc import Iterator
from unittest import mock

import pytest
from celery.app.task import Task
from django.utils import timezone
from kombu.exceptions import OperationalError

from surveys.services import invitation_create
from xmplatform.api.models import Webhook
from xmplatform.core.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db

REFUSED = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def broker_down() -> Iterator[mock.MagicMock]:
    """Every `.delay`/`.apply_async` of every task fails as kombu does without Redis."""
    with mock.patch.object(Task, "apply_async", autospec=True, side_effect=REFUSED) as refused:
        yield refused


def test_every_write_answers_at_once_and_owes_its_effects_in_the_outbox(
    api, world, broker_down, django_capture_on_commit_callbacks
):
    Webhook.objects.create(name="CRM", url="http://127.0.0.1:9/", secret="s" * 64)
    _inv, token = invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")
    requests = [
        (
            "post",
            "/api/v1/people/",
            [
                {
                    "external_id": "c-9",
                    "email": "deniz@example.com",
                    "audiences": [{"audience": "customers"}],
                }
            ],
        ),
        (
            "post",
            "/api/v1/events/",
            [
                {
                    "person": "c-1",
                    "touchpoint": "checkout",
                    "occurred_at": timezone.now().isoformat(),
                }
            ],
        ),
        (
            "post",
            "/api/v1/invitations/",
            {"survey": world.customer_survey.pk, "person": "c-9", "channel": "email"},
        ),
        ("post", "/api/v1/responses/", {"token": token, "answers": {"nps": 3}}),
        ("get", "/api/v1/people/c-9/export/", None),
        ("delete", "/api/v1/people/c-9/", None),
    ]
    answers = []
    for method, path, body in requests:
        started = time.monotonic()
        # Each request with what runs after its commits (the relay's wake, refused).
        with django_capture_on_commit_callbacks(execute=True):
            reply = getattr(api, method)(path, body, format="json")
        answers.append((path, reply.status_code, time.monotonic() - started))

    assert [(path, status) for path, status, _s in answers] == [
        ("/api/v1/people/", 200),
        ("/api/v1/events/", 200),
        ("/api/v1/invitations/", 201),
        ("/api/v1/responses/", 201),
        ("/api/v1/people/c-9/export/", 200),
        ("/api/v1/people/c-9/", 204),
    ]
    slowest = max(seconds for _p, _s, seconds in answers)
    assert slowest < 1.0, answers
    # The only enqueue tried is the relay's wake after a commit, refused and left to the sweep.
    assert {call.args[0].name for call in broker_down.call_args_list} == {"core.outbox_relay_task"}
    owed = set(
        OutboxMessage.objects.filter(state=OutboxState.PENDING).values_list("event", flat=True)
    )
    assert {"event.recorded", "response.completed"} <= owed
