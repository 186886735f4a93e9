"""Listeners told about completed responses, after the transaction that completed them commits.

Other apps (alerts, webhooks) register here from their AppConfig.ready(), so surveys never
imports them:

    from surveys.hooks import register_response_listener
    register_response_listener(open_alerts_for_response)

A listener receives the id of one completed Response. It runs after commit, so it must be quick
(typically it enqueues a Celery task) and idempotent: surveys announces each completion once,
but a listener's own retries may see the same id again.
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
    """Tell every listener that `response_id` was completed (call through on_commit)."""
    for fn in tuple(_listeners):
        fn(response_id)
