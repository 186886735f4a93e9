"""The outbox relay's tasks: woken after a commit, and swept by beat every minute."""

from celery import shared_task

from xmplatform.core import outbox


# No result is kept: the web process that wakes the relay must never wait on a result backend.
@shared_task(name="core.outbox_relay_task", ignore_result=True, soft_time_limit=240)
def outbox_relay_task() -> int:
    """Relay the due outbox rows (many relays at once share the work: SKIP LOCKED)."""
    return outbox.outbox_relay()


@shared_task(name="core.outbox_sweep_task", ignore_result=True, soft_time_limit=240)
def outbox_sweep_task() -> dict[str, int]:
    """Relay what no wake reached, and prune rows done a week ago."""
    return outbox.outbox_sweep()
