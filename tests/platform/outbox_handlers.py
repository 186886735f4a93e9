"""Handlers for the outbox tests: each leaves a mark the tests can count."""

from django.contrib.auth.models import Group

FAILURES: dict[str, int] = {}


def mark_handler(*, message_id: int, tag: str) -> None:
    """A database effect: one group per message (a unique name, so a second run would fail)."""
    Group.objects.create(name=f"{tag}:{message_id}")


def flaky_handler(*, message_id: int, tag: str) -> None:
    """Fails as many times as FAILURES[tag] says, then marks like mark_handler."""
    if FAILURES.get(tag, 0) > 0:
        FAILURES[tag] -= 1
        Group.objects.create(name=f"half-written:{tag}:{message_id}")
        raise RuntimeError(f"{tag} is not ready")
    Group.objects.create(name=f"{tag}:{message_id}")


TABLE = {
    "thing.done": (
        "tests.platform.outbox_handlers.mark_handler",
        "tests.platform.outbox_handlers.flaky_handler",
    ),
    "thing.quiet": (),
    "thing.broken": ("tests.platform.outbox_handlers.no_such_handler",),
}
