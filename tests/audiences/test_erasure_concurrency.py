"""Two erasures of one person at the same moment (a double click, an API retry): the person's
row lock lets one start it; it is audited once, owed once and finished once (PostgreSQL)."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from audiences.models import AuditAction, AuditLog, Person
from audiences.services import ErasureReport, person_erase
from tests.factories import make_membership, make_person
from xmplatform.core.models import OutboxMessage

ROUNDS = 3


def _at_once(call: Callable[[], ErasureReport]) -> list[object]:
    """Run `call` in two threads released together; each one's report or exception."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(call())
        except Exception as exc:  # noqa: BLE001 - an outcome to assert on
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_erasures_at_once_start_one(needs_postgres, customers):  # noqa: ANN001
    for round_ in range(ROUNDS):
        person = make_person(f"twice-{round_}", name="Ayşe Yılmaz")
        make_membership(person, customers)

        outcomes = _at_once(lambda p=person: person_erase(person_id=p.pk, actor=None))

        started = [o for o in outcomes if isinstance(o, ErasureReport) and o.started]
        # The other waited for the row: it found the erasure started, or (once the eager relay
        # had finished it) no person at all.
        others = [o for o in outcomes if o not in started]
        assert len(started) == 1, outcomes
        assert len(others) == 1
        assert isinstance(others[0], Person.DoesNotExist) or others[0].started is False
        assert not Person.objects.filter(pk=person.pk).exists()
        target = f"person {person.pk}"
        assert sorted(AuditLog.objects.filter(target=target).values_list("action", flat=True)) == [
            AuditAction.PERSON_ERASED,
            AuditAction.PERSON_ERASURE_COMPLETED,
        ]
        assert list(
            OutboxMessage.objects.filter(payload__person_id=person.pk).values_list("event", "state")
        ) == [("person.erased", "done")]
