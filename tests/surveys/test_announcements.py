"""Completions announced through the outbox: `response.completed` is owed in the completing
transaction, by the hosted page and the API alike, and never for an anonymous survey."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from surveys import services, tasks
from surveys.models import Answer, QuestionType, Response
from surveys.services import Progress, Respondent, SurveyFull, responses
from tests.surveys.test_hosted_support import (
    add_question,
    invite,
    make_survey,
    plain_static_files,  # noqa: F401 - autouse fixture
    public_link,
    three_page_survey,
    url,
)
from xmplatform.beat import BEAT_SCHEDULE
from xmplatform.core import outbox
from xmplatform.core.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db

EVENT = "response.completed"
SEEN = "tests.surveys.outbox_handlers.response_seen_handler"


def _owed() -> list[tuple[str, str, dict, str]]:
    rows = OutboxMessage.objects.order_by("id")
    return [(r.event, r.handler, r.payload, r.state) for r in rows]


def _expected(response_id: int) -> list[tuple[str, str, dict, str]]:
    return [
        (EVENT, handler, {"response_id": response_id}, OutboxState.PENDING)
        for handler in outbox.handlers_table()[EVENT]
    ]


def _one_page_survey(**extra):  # noqa: ANN003, ANN202
    survey = make_survey(**extra)
    add_question(survey, "nps", QuestionType.NPS, page=1, order=1)
    return survey


def test_a_hosted_completion_owes_response_completed_to_each_of_its_handlers(client):
    _, token = invite(_one_page_survey())

    reply = client.post(url(token), {"page": "1", "q-nps": "3"})

    assert reply.status_code == 302
    response = Response.objects.get()
    assert _owed() == _expected(response.pk)
    assert len(_owed()) == 2  # the closed loop's response rules, then webhooks


def test_every_page_save_before_the_last_owes_nothing(client):
    _, token = invite(three_page_survey())

    client.post(url(token), {"page": "1", "q-nps": "3"})
    client.post(url(token), {"page": "2", "q-improve": "Faster"})

    assert Response.objects.get().completed_on is None
    assert _owed() == []


def test_a_second_submit_owes_nothing_more(client):
    _, token = invite(_one_page_survey())
    client.post(url(token), {"page": "1", "q-nps": "3"})

    again = client.post(url(token), {"page": "1", "q-nps": "9"})

    assert again.status_code == 200
    assert _owed() == _expected(Response.objects.get().pk)


def test_a_public_link_completion_owes_it_too(client):
    survey = _one_page_survey()
    public_link(survey)

    client.post("/p/visit-qr/", {"page": "1", "q-nps": "10"})

    assert _owed() == _expected(Response.objects.get().pk)


def test_an_api_response_owes_it_as_the_hosted_page_does():
    from tests.api.conftest import client_for
    from xmplatform.api.services import api_key_create

    _, token = invite(_one_page_survey())
    _key, secret = api_key_create(name="CRM")

    reply = client_for(secret).post(
        "/api/v1/responses/", {"token": token, "answers": {"nps": 2}}, format="json"
    )

    assert reply.status_code == 201
    assert _owed() == _expected(reply.json()["id"])


def test_a_completion_refused_for_a_full_survey_owes_nothing(monkeypatch):
    survey = _one_page_survey(response_limit=1)
    first, first_token = invite(survey, external_id="p-1")
    second, second_token = invite(survey, external_id="p-2")
    questions = services.survey_questions(survey=survey)
    services.response_answer(
        respondent=Respondent(survey=survey, invitation=first, token=first_token),
        questions=questions,
        values={"nps": 9},
        language="tr",
    )
    # The second request found the survey open before the first committed: the count under
    # the survey's lock refuses it, and its transaction (outbox rows included) rolls back.
    monkeypatch.setattr(responses, "survey_unavailable_reason", lambda **kwargs: None)

    with pytest.raises(SurveyFull):
        services.response_answer(
            respondent=Respondent(survey=survey, invitation=second, token=second_token),
            questions=questions,
            values={"nps": 4},
            language="tr",
        )

    assert _owed() == _expected(Response.objects.get().pk)


def test_a_survey_found_full_is_refused_as_unavailable_and_owes_nothing_more():
    survey = _one_page_survey(response_limit=1)
    invitation, token = invite(survey, external_id="p-1")
    other, other_token = invite(survey, external_id="p-2")
    questions = services.survey_questions(survey=survey)
    services.response_answer(
        respondent=Respondent(survey=survey, invitation=invitation, token=token),
        questions=questions,
        values={"nps": 9},
        language="tr",
    )

    with pytest.raises(services.SurveyUnavailable) as refusal:
        services.response_answer(
            respondent=Respondent(survey=survey, invitation=other, token=other_token),
            questions=questions,
            values={"nps": 1},
            language="tr",
        )

    assert refusal.value.reason == services.Unavailable.FULL
    assert len(_owed()) == 2


def test_the_relay_is_woken_after_the_commit_never_before(
    client, django_capture_on_commit_callbacks
):
    _, token = invite(_one_page_survey())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(url(token), {"page": "1", "q-nps": "3"})

    assert callbacks == [outbox.outbox_wake]
    assert {state for *_rest, state in _owed()} == {OutboxState.PENDING}


def test_the_relay_hands_each_handler_the_completed_response_once(client, settings):
    settings.OUTBOX_HANDLERS = {**outbox.handlers_table(), EVENT: (SEEN,)}
    _, token = invite(_one_page_survey())
    client.post(url(token), {"page": "1", "q-nps": "3"})
    response = Response.objects.get()

    assert outbox.outbox_relay() == 1
    assert outbox.outbox_relay() == 0

    assert list(Group.objects.values_list("name", flat=True)) == [f"seen:{response.pk}"]
    assert list(OutboxMessage.objects.values_list("state", flat=True)) == [OutboxState.DONE]


def test_a_detractors_completion_reaches_the_closed_loop_and_webhooks_once():
    from metrics.models import Alert, Case
    from tests.metrics.closed_loop_support import contact_survey, detractor_rule, submit
    from xmplatform.api.models import Webhook, WebhookDelivery

    survey = contact_survey()
    detractor_rule(survey)
    # Nothing listens on port 9: the deliveries' attempts are not what this test looks at.
    Webhook.objects.create(
        name="CRM", url="http://127.0.0.1:9/hook", secret="5e" * 32, events=["response.completed"]
    )
    _, token = invite(survey)
    submit(Client(), token, nps="3")
    response = Response.objects.get()

    outbox.outbox_relay()
    outbox.outbox_relay()  # a second sweep finds nothing left to do

    assert Alert.objects.count() == Case.objects.count() == 1
    assert list(WebhookDelivery.objects.values_list("event", "object_id")) == [(EVENT, response.pk)]
    handled = OutboxMessage.objects.filter(event=EVENT).values_list("state", flat=True)
    assert set(handled) == {OutboxState.DONE}


def test_the_one_statement_owes_what_outbox_emit_owes(needs_postgres, client):
    _, token = invite(_one_page_survey())
    client.post(url(token), {"page": "1", "q-nps": "3"})
    response = Response.objects.get()
    written = list(OutboxMessage.objects.order_by("id"))
    with transaction.atomic():
        outbox.outbox_emit(EVENT, response_id=response.pk)
    emitted = list(OutboxMessage.objects.exclude(pk__in=[m.pk for m in written]).order_by("id"))

    def comparable(message: OutboxMessage) -> dict:
        skip = {"id", "available_at", "created_at"}
        return {
            f.attname: getattr(message, f.attname)
            for f in OutboxMessage._meta.concrete_fields
            if f.attname not in skip
        }

    assert [comparable(m) for m in written] == [comparable(m) for m in emitted]
    # Owed from the moment of the completion, in its statement.
    assert {(m.available_at, m.created_at) for m in written} == {
        (response.completed_at, response.completed_at)
    }


def test_an_anonymous_completion_owes_nothing_and_wakes_nothing(
    client, django_capture_on_commit_callbacks
):
    """No handler hears of it right after its commit: that would date the response."""
    survey = three_page_survey(anonymous=True)
    _, token = invite(survey)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(url(token), {"page": "1", "q-nps": "3"})
        client.post(url(token), {"page": "2", "q-improve": "Faster"})
        client.post(url(token), {"page": "3", "q-csat": "2", "q-reason": "price"})

    response = Response.objects.get()
    first_day = timezone.localdate().replace(day=1)  # its period: the calendar month
    assert (response.completed_at, response.completed_on) == (None, first_day)
    assert Answer.objects.filter(response=response).count() == 4
    assert _owed() == []
    assert outbox.outbox_wake not in callbacks


def test_an_anonymous_public_link_completion_owes_nothing(client):
    public_link(_one_page_survey(anonymous=True))

    client.post("/p/visit-qr/", {"page": "1", "q-nps": "3"})

    assert Response.objects.get().completed_on is not None
    assert _owed() == []


def test_no_completion_task_registry_or_reconciler_is_left():
    with pytest.raises(ModuleNotFoundError):
        __import__("surveys.hooks")
    assert not hasattr(tasks, "response_completed_task")
    assert not hasattr(tasks, "completions_reconcile_task")
    assert "surveys-completions-reconcile" not in BEAT_SCHEDULE
    assert {"announced_on", "alerts_checked_at"}.isdisjoint(
        f.name for f in Response._meta.get_fields()
    )


def test_completing_costs_no_statement_after_the_response_on_postgresql(
    needs_postgres, django_assert_num_queries
):
    # The outbox rows ride in the completing statement: no transaction is opened for them.
    survey = _one_page_survey()
    invitation, token = invite(survey)
    questions = services.survey_questions(survey=survey)
    respondent = Respondent(survey=survey, invitation=invitation, token=token)

    with django_assert_num_queries(1):
        services.response_answer(
            respondent=respondent,
            questions=questions,
            values={"nps": 5},
            language="tr",
            progress=Progress(response=None, answers={}),
        )

    assert connection.vendor == "postgresql"
    assert len(_owed()) == 2
    assert Response.objects.get().completed_at > timezone.now() - dt.timedelta(minutes=1)
