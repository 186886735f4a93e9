"""Two systems posting a response for one invitation at the same moment: one 201, one 409
(PostgreSQL, real connections)."""

import threading

import pytest
from django.db import connection

from surveys.models import Answer, Invitation, InvitationState, Response
from surveys.services import invitation_create
from tests.api.conftest import client_for

ROUNDS = 6


def _post_twice_at_once(key: str, token: str) -> list[int]:
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post(score: int) -> None:
        try:
            client = client_for(key)
            barrier.wait(timeout=10)
            reply = client.post(
                "/api/v1/responses/", {"token": token, "answers": {"nps": score}}, format="json"
            )
            statuses.append(reply.status_code)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in (3, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_for_one_invitation_keep_one_response(needs_postgres, world, full_key):
    tokens = [
        invitation_create(survey=world.customer_survey, person=world.ayse, channel="app")[1]
        for _ in range(ROUNDS)
    ]

    outcomes = [_post_twice_at_once(full_key, token) for token in tokens]

    assert outcomes == [[201, 409]] * ROUNDS
    assert Response.objects.filter(completed_on__isnull=False).count() == ROUNDS
    assert Answer.objects.count() == ROUNDS
    assert set(Invitation.objects.values_list("state", flat=True)) == {InvitationState.RESPONDED}
