"""Redis down while respondents submit: answers commit, the thank-you page shows, and what is
owed waits in the outbox for the sweep.

The broker refuses connections the way kombu reports it when Redis is stopped (the relay's wake
raises OperationalError); the cache is a Redis on a closed port, so the rate limits meet the
outage too. Transactional tests: the commit, and what runs after it, are real.
"""

from unittest import mock

import pytest
from django.test import Client
from kombu.exceptions import OperationalError

from surveys.models import Answer, Invitation, InvitationState, Response
from tests.surveys.test_hosted_support import (
    invite,
    plain_static_files,  # noqa: F401 - autouse fixture
    three_page_survey,
    url,
)
from xmplatform.core import outbox
from xmplatform.core.models import OutboxMessage, OutboxState
from xmplatform.core.tasks import outbox_relay_task

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_PORT = "redis://127.0.0.1:1/0"
REFUSED = OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
SEEN = "tests.surveys.outbox_handlers.response_seen_handler"


@pytest.fixture
def redis_down(settings):  # noqa: ANN001, ANN201
    """Rate limits on, counted in a Redis that refuses connections; the broker refuses too."""
    settings.RATE_LIMIT_ENABLED = True
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_PORT,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.OUTBOX_HANDLERS = {**outbox.handlers_table(), "response.completed": (SEEN,)}
    with mock.patch.object(outbox_relay_task, "apply_async", side_effect=REFUSED) as wake:
        yield wake


def _answer_first_pages(client: Client, token: str) -> None:
    client.post(url(token), {"page": "1", "q-nps": "3"})
    client.post(url(token), {"page": "2", "q-improve": "Kargo geç geldi"})


def test_the_last_page_shows_thanks_and_keeps_the_response_and_what_it_owes(redis_down, caplog):
    survey = three_page_survey()
    invitation, token = invite(survey)
    client = Client(raise_request_exception=False)
    _answer_first_pages(client, token)

    submitted = client.post(url(token), {"page": "3", "q-csat": "2", "q-reason": "price"})
    thanks = client.get(submitted.headers["Location"])

    assert submitted.status_code == 302
    assert submitted.headers["Location"] == f"{url(token)}?done=1&lang=tr"
    assert thanks.status_code == 200
    page = thanks.content.decode()
    # The survey's own thank-you text is the heading, said once (no generic "Thank you!").
    assert '<h2 id="message-heading">Çok teşekkürler!</h2>' in page
    assert page.count("teşekkür") == 2  # the heading and the tab's title, nothing more
    assert "Teşekkür ederiz!" not in page
    response = Response.objects.get()
    assert response.completed_at is not None
    assert Answer.objects.filter(response=response).count() == 4
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.RESPONDED
    assert list(OutboxMessage.objects.values_list("payload", "state")) == [
        ({"response_id": response.pk}, OutboxState.PENDING)
    ]
    assert redis_down.call_count == 1  # the wake was tried once, after the commit
    assert "Outbox relay not woken" in caplog.text
    assert "Rate limits" in caplog.text  # counted nowhere, let through


def test_a_retry_of_the_last_page_shows_the_thank_you_page_and_owes_nothing_more(redis_down):
    survey = three_page_survey()
    _, token = invite(survey)
    client = Client(raise_request_exception=False)
    _answer_first_pages(client, token)
    client.post(url(token), {"page": "3", "q-csat": "2", "q-reason": "price"})

    retry = client.post(url(token), {"page": "3", "q-csat": "2", "q-reason": "price"})

    assert retry.status_code == 200
    assert "Çok teşekkürler!" in retry.content.decode()
    assert Response.objects.filter(completed_on__isnull=False).count() == 1
    assert OutboxMessage.objects.count() == 1
    assert Invitation.objects.get().state == InvitationState.RESPONDED


def test_the_sweep_delivers_what_the_outage_left_once_the_broker_is_back(redis_down):
    survey = three_page_survey()
    _, token = invite(survey)
    client = Client(raise_request_exception=False)
    _answer_first_pages(client, token)
    client.post(url(token), {"page": "3", "q-csat": "2", "q-reason": "price"})
    response = Response.objects.get()

    # The beat's minute, once Redis is back.
    assert outbox.outbox_sweep()["relayed"] == 1
    assert outbox.outbox_sweep()["relayed"] == 0

    from django.contrib.auth.models import Group

    assert list(Group.objects.values_list("name", flat=True)) == [f"seen:{response.pk}"]
    assert list(OutboxMessage.objects.values_list("state", flat=True)) == [OutboxState.DONE]


def test_an_api_response_is_recorded_while_redis_is_down(redis_down):
    from tests.api.conftest import client_for
    from xmplatform.api.services import api_key_create

    survey = three_page_survey()
    _, token = invite(survey)
    _key, secret = api_key_create(name="CRM")

    reply = client_for(secret).post(
        "/api/v1/responses/",
        {"token": token, "answers": {"nps": 9, "liked": "Hız", "csat": 5, "reason": "staff"}},
        format="json",
    )

    assert reply.status_code == 201
    assert OutboxMessage.objects.get().payload == {"response_id": reply.json()["id"]}
