"""Listeners told about new touchpoint events, after the transaction that stored them commits.

Other apps register here from their AppConfig.ready(), so journeys never imports them:

    from journeys.hooks import register_event_listener
    register_event_listener(plan_triggered_invitations)

A listener receives the list of new TouchpointEvent ids. It runs after commit, so it must be
quick (typically it enqueues a Celery task) and idempotent: the ids are never repeated by
journeys, but a listener's own retries may see them again.
"""

from collections.abc import Callable

EventListener = Callable[[list[int]], None]

_listeners: list[EventListener] = []


def register_event_listener(fn: EventListener) -> EventListener:
    """Call `fn(event_ids)` after each commit that stored touchpoint events; usable as decorator."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_event_listener(fn: EventListener) -> None:
    """Stop calling `fn` (tests use this to clean up)."""
    if fn in _listeners:
        _listeners.remove(fn)


def event_listeners() -> tuple[EventListener, ...]:
    """The registered listeners, in registration order."""
    return tuple(_listeners)
