"""Concurrent double submits keep one response per invitation (PostgreSQL, real connections)."""

import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from surveys.models import Answer, Invitation, InvitationState, Response
from surveys.services import responses
from tests.surveys.test_hosted_support import (  # noqa: F401 - plain_static_files is autouse
    invite,
    plain_static_files,
    three_page_survey,
    url,
)

ROUNDS = 8


def _submit_twice_at_once(token: str) -> list[int]:
    """Two browsers' final-page POSTs released together, each on its own connection."""
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def submit(csat: str) -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            reply = client.post(url(token), {"page": "3", "q-csat": csat, "q-reason": "price"})
            statuses.append(reply.status_code)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(v,)) for v in ("4", "5")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
def test_two_concurrent_submits_keep_one_response(needs_postgres, anonymous):
    survey = three_page_survey(anonymous=anonymous)
    tokens = []
    for i in range(ROUNDS):
        _, token = invite(survey, external_id=f"p-{i}")
        Client().post(url(token), {"page": "1", "q-nps": "8"})
        tokens.append(token)

    outcomes = [_submit_twice_at_once(token) for token in tokens]

    # One request completes (302 to the thank-you page), the other sees "already answered".
    assert outcomes == [[200, 302]] * ROUNDS
    assert Response.objects.filter(completed_on__isnull=False).count() == ROUNDS
    assert Response.objects.count() == ROUNDS
    assert Answer.objects.filter(question__key="csat").count() == ROUNDS
    assert set(Invitation.objects.values_list("state", flat=True)) == {InvitationState.RESPONDED}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
def test_second_submit_waits_for_the_first_and_then_sees_it_answered(
    needs_postgres, monkeypatch, anonymous
):
    survey = three_page_survey(anonymous=anonymous)
    _, token = invite(survey)
    Client().post(url(token), {"page": "1", "q-nps": "8"})
    entered, release = threading.Event(), threading.Event()
    write, statement = responses.answers_write, responses.submit_named

    def pause_if_first() -> None:
        # The first submit pauses inside its transaction, holding the invitation's row lock.
        if threading.current_thread().name == "first":
            entered.set()
            release.wait(timeout=10)

    def held_write(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        pause_if_first()
        return write(*args, **kwargs)

    def held_statement(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        # A named submit is one statement, committed at once: here it runs in a transaction
        # that stays open after it, so that the lock it took is still held.
        with transaction.atomic():
            completed = statement(*args, **kwargs)
            pause_if_first()
        return completed

    monkeypatch.setattr(responses, "answers_write", held_write)
    monkeypatch.setattr(responses, "submit_named", held_statement)
    statuses: dict[str, int] = {}

    def submit() -> None:
        try:
            reply = Client().post(url(token), {"page": "3", "q-csat": "5", "q-reason": "staff"})
            statuses[threading.current_thread().name] = reply.status_code
        finally:
            connection.close()

    first = threading.Thread(target=submit, name="first")
    first.start()
    assert entered.wait(timeout=10)
    second = threading.Thread(target=submit, name="second")
    second.start()
    second.join(timeout=1)
    blocked = second.is_alive()
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert blocked is True
    assert statuses == {"first": 302, "second": 200}
    assert Response.objects.count() == 1
    assert Response.objects.get().completed_on is not None
    assert Answer.objects.get(question__key="csat").number == 5
