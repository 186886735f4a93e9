"""Listeners told about completed responses, after the transaction that completed them commits.

Other apps (alerts, webhooks) register here from their AppConfig.ready(), so surveys never
imports them:

    from surveys.hooks import register_response_listener
    register_response_listener(open_alerts_for_response)

A listener receives the id of one completed Response. It runs in a Celery worker after the
transaction that completed the response committed: the completing request publishes one task
(`surveys.response_completed_task`) however many listeners there are, and that task calls them
all. A listener must still be quick (typically it enqueues a Celery task of its own) and
idempotent: surveys announces each completion once, but a redelivered task (acks_late) or a
listener's own retries may see the same id again. With eager tasks (the embedded setup and the
tests) everything runs in-process, right after the commit.
"""

from collections.abc import Callable

ResponseListener = Callable[[int], None]

_listeners: list[ResponseListener] = []


def register_response_listener(fn: ResponseListener) -> ResponseListener:
    """Call `fn(response_id)` after each commit that completed a response; usable as decorator."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_response_listener(fn: ResponseListener) -> None:
    """Stop calling `fn` (tests use this to clean up)."""
    if fn in _listeners:
        _listeners.remove(fn)


def response_completed(response_id: int) -> None:
    """Announce that `response_id` was completed (call through on_commit): one task."""
    if not _listeners:
        return
    # Imported here: surveys.tasks imports the services, which import this module.
    from surveys.tasks import response_completed_task

    response_completed_task.delay(response_id)


def response_listeners_call(response_id: int) -> None:
    """Call every listener with `response_id` (the body of response_completed_task)."""
    for fn in tuple(_listeners):
        fn(response_id)
