"""Two systems creating the same new people in opposite orders at the same moment: one batch
is stored, the other is told to send again, and neither fails (PostgreSQL)."""

import threading

import pytest
from django.db import connection

from audiences.models import Membership, Person
from tests.api.conftest import client_for

ROUNDS = 3
PEOPLE = 200


def _batch(round_: int, reverse: bool) -> list[dict]:
    ids = [f"r{round_}-p{i}" for i in range(PEOPLE)]
    if reverse:
        ids.reverse()
    return [{"external_id": i, "audiences": [{"audience": "customers"}]} for i in ids]


def _post_both_at_once(key: str, round_: int) -> list[int]:
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post(reverse: bool) -> None:
        try:
            client = client_for(key)
            body = _batch(round_, reverse)
            barrier.wait(timeout=10)
            statuses.append(client.post("/api/v1/people/", body, format="json").status_code)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(r,)) for r in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return sorted(statuses)


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_creating_the_same_people_never_deadlock(
    needs_postgres, world, full_key
):
    for round_ in range(ROUNDS):
        # The one that waited answers 409 ("send again"), or 200 if it came second.
        assert _post_both_at_once(full_key, round_) in ([200, 409], [200, 200])
        again = client_for(full_key).post("/api/v1/people/", _batch(round_, True), format="json")
        assert again.json()["errors"] == []
    assert Person.objects.filter(external_id__startswith="r").count() == ROUNDS * PEOPLE
    assert Membership.objects.filter(person__external_id__startswith="r").count() == (
        ROUNDS * PEOPLE
    )
