"""The transactional outbox: rows written with the change, relayed once, retried, dead-lettered."""

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from tests.platform import outbox_handlers
from xmplatform.core import outbox
from xmplatform.core.models import OutboxMessage, OutboxState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _table(settings):
    settings.OUTBOX_HANDLERS = outbox_handlers.TABLE
    settings.OUTBOX_MAX_ATTEMPTS = 3
    outbox_handlers.FAILURES.clear()


def marks(tag: str = "t") -> list[str]:
    return sorted(Group.objects.filter(name__startswith=f"{tag}:").values_list("name", flat=True))


def test_emit_writes_one_row_per_handler_in_the_callers_transaction():
    with transaction.atomic():
        written = outbox.outbox_emit("thing.done", tag="t")
    rows = OutboxMessage.objects.order_by("id")
    assert written == 2
    assert [(r.event, r.handler.rsplit(".", 1)[1], r.payload, r.state) for r in rows] == [
        ("thing.done", "mark_handler", {"tag": "t"}, "pending"),
        ("thing.done", "flaky_handler", {"tag": "t"}, "pending"),
    ]


def test_a_rolled_back_change_owes_nothing():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox.outbox_emit("thing.done", tag="t")
        1 / 0  # noqa: B018
    assert not OutboxMessage.objects.exists()


def test_an_event_without_handlers_writes_nothing_and_an_unknown_one_is_refused():
    assert outbox.outbox_emit("thing.quiet") == 0
    with pytest.raises(outbox.UnknownEvent):
        outbox.outbox_emit("thing.unheard", tag="t")
    assert not OutboxMessage.objects.exists()


def test_the_commit_wakes_the_relay_which_runs_every_handler_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            outbox.outbox_emit("thing.done", tag="t")
    ids = list(OutboxMessage.objects.order_by("id").values_list("id", flat=True))
    assert marks() == sorted(f"t:{i}" for i in ids)
    assert set(OutboxMessage.objects.values_list("state", "attempts")) == {("done", 1)}
    # Nothing is left for the sweep.
    assert outbox.outbox_relay() == 0
    assert len(marks()) == 2


def test_a_failing_handler_is_retried_with_backoff_and_its_half_writes_roll_back():
    outbox_handlers.FAILURES["t"] = 1
    outbox.outbox_emit("thing.done", tag="t")
    now = timezone.now()
    assert outbox.outbox_relay(now=now) == 2
    flaky = OutboxMessage.objects.get(handler__endswith="flaky_handler")
    assert (flaky.state, flaky.attempts) == ("pending", 1)
    assert "RuntimeError: t is not ready" in flaky.last_error
    assert flaky.available_at >= now + dt.timedelta(seconds=10)
    assert not Group.objects.filter(name__startswith="half-written").exists()
    # Not due before its backoff; due after.
    assert outbox.outbox_relay(now=now + dt.timedelta(seconds=5)) == 0
    assert outbox.outbox_relay(now=timezone.now() + dt.timedelta(seconds=11)) == 1
    flaky.refresh_from_db()
    assert (flaky.state, flaky.attempts, flaky.last_error) == ("done", 2, "")
    assert len(marks()) == 2


def test_backoff_doubles_from_ten_seconds_and_stops_at_an_hour():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4, 10, 30)] == [
        10,
        20,
        40,
        80,
        3600,
        3600,
    ]


def test_past_the_attempt_limit_a_row_is_a_dead_letter_until_retried(
    django_capture_on_commit_callbacks,
):
    outbox_handlers.FAILURES["t"] = 3
    outbox.outbox_emit("thing.done", tag="t")
    later = timezone.now()
    for _attempt in range(3):
        later += dt.timedelta(hours=2)
        outbox.outbox_relay(now=later)
    flaky = OutboxMessage.objects.get(handler__endswith="flaky_handler")
    assert (flaky.state, flaky.attempts) == ("dead", 3)
    assert outbox.outbox_relay(now=later + dt.timedelta(days=1)) == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert outbox.outbox_retry(ids=[flaky.pk]) == 1
    flaky.refresh_from_db()
    assert (flaky.state, flaky.attempts) == ("done", 1)
    assert marks() == sorted(f"t:{i}" for i in OutboxMessage.objects.values_list("id", flat=True))


def test_a_handler_that_cannot_be_imported_is_retried_not_lost():
    outbox.outbox_emit("thing.broken")
    outbox.outbox_relay()
    row = OutboxMessage.objects.get()
    assert (row.state, row.attempts) == ("pending", 1)
    assert "no_such_handler" in row.last_error


def test_a_handler_whose_lease_was_taken_over_undoes_its_writes(monkeypatch):
    outbox.outbox_emit("thing.done", tag="t")
    real = outbox_handlers.mark_handler

    def slow_then_overtaken(*, message_id: int, tag: str) -> None:
        real(message_id=message_id, tag=tag)
        # Meanwhile the lease ended and another relay claimed the row.
        OutboxMessage.objects.filter(pk=message_id).update(claim="someone-else")

    monkeypatch.setattr(outbox_handlers, "mark_handler", slow_then_overtaken)
    outbox.outbox_relay()
    mark_row = OutboxMessage.objects.get(handler__endswith="mark_handler")
    assert mark_row.state == "pending"
    assert f"t:{mark_row.pk}" not in marks()


def test_an_unreachable_broker_loses_nothing_and_the_sweep_relays(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    from xmplatform.core.tasks import outbox_relay_task

    def refused(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(outbox_relay_task, "apply_async", refused)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            outbox.outbox_emit("thing.done", tag="t")
    assert "broker is unreachable" in caplog.text
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"pending"}
    assert outbox.outbox_sweep() == {"relayed": 2, "pruned": 0}
    assert len(marks()) == 2


def test_the_sweep_prunes_rows_done_a_week_ago():
    outbox.outbox_emit("thing.done", tag="t")
    outbox.outbox_relay()
    OutboxMessage.objects.update(created_at=timezone.now() - dt.timedelta(days=8))
    outbox.outbox_emit("thing.done", tag="t")
    assert outbox.outbox_sweep() == {"relayed": 2, "pruned": 2}
    assert OutboxMessage.objects.filter(state="done").count() == 2


@pytest.mark.django_db(transaction=True)
def test_relays_running_at_once_handle_each_row_once(needs_postgres):
    with transaction.atomic():
        for _n in range(150):
            outbox.outbox_emit("thing.done", tag="c")
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def relay() -> None:
        try:
            start.wait(timeout=10)
            outbox.outbox_relay(limit=20)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert OutboxMessage.objects.filter(state=OutboxState.DONE, attempts=1).count() == 300
    assert len(marks("c")) == 300


# --- The admin: dead letters -----------------------------------------------------------------


@pytest.fixture
def dead_letter():
    outbox_handlers.FAILURES["t"] = 5
    outbox.outbox_emit("thing.done", tag="t")
    OutboxMessage.objects.filter(handler__endswith="flaky_handler").update(
        state="dead", attempts=3, last_error="Traceback …\nRuntimeError: t is not ready\n"
    )
    return OutboxMessage.objects.get(state="dead")


def test_dead_letters_are_listed_with_their_last_error(admin_client, dead_letter):
    page = admin_client.get(reverse("admin:core_deadletter_changelist"))
    assert page.status_code == 200
    assert b"RuntimeError: t is not ready" in page.content
    assert page.context["cl"].result_count == 1


def test_the_retry_button_makes_a_dead_letter_pending_again(
    admin_client, dead_letter, django_capture_on_commit_callbacks
):
    outbox_handlers.FAILURES["t"] = 0
    page = admin_client.get(reverse("admin:core_deadletter_change", args=[dead_letter.pk]))
    assert b'id="xm-deadletter-retry"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(reverse("admin:core_deadletter_retry", args=[dead_letter.pk]))
    assert answer.status_code == 302
    dead_letter.refresh_from_db()
    assert dead_letter.state == "done"


def test_staff_without_the_permission_cannot_retry(client, django_user_model, dead_letter):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(
        "viewer", password="pw-12345-long", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_deadletter"))
    client.force_login(viewer)
    page = client.get(reverse("admin:core_deadletter_change", args=[dead_letter.pk]))
    assert page.status_code == 200
    assert b'id="xm-deadletter-retry"' not in page.content
    client.post(reverse("admin:core_deadletter_retry", args=[dead_letter.pk]))
    dead_letter.refresh_from_db()
    assert dead_letter.state == "dead"


def test_a_row_taken_over_before_its_handler_started_is_left_to_its_new_claim(monkeypatch):
    outbox.outbox_emit("thing.done", tag="t")
    real_claim = outbox._claim

    def claim_then_lose(**kwargs):
        claimed = real_claim(**kwargs)
        # Our lease ended before we reached the rows; another relay claimed them.
        OutboxMessage.objects.update(claim="someone-else")
        return claimed

    monkeypatch.setattr(outbox, "_claim", claim_then_lose)
    assert outbox.outbox_relay() == 2
    assert marks() == []
    assert set(OutboxMessage.objects.values_list("state", "claim")) == {("pending", "someone-else")}


def test_a_claimed_row_comes_back_after_the_lease():
    outbox.outbox_emit("thing.quiet")
    outbox.outbox_emit("thing.done", tag="t")
    now = timezone.now()
    claimed = outbox._claim(limit=10, now=now)  # a relay that then died
    assert len(claimed) == 2
    assert outbox.outbox_relay(now=now + outbox.LEASE - dt.timedelta(seconds=1)) == 0
    assert outbox.outbox_relay(now=now + outbox.LEASE) == 2
    assert len(marks()) == 2
