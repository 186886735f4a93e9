"""Listeners told about newly opened alerts, after the transaction that opened them commits.

The API layer registers its `alert.opened` webhook here from its AppConfig.ready(), so metrics
never imports it:

    from metrics.hooks import register_alert_listener
    register_alert_listener(send_alert_webhooks)

A listener receives the id of one newly opened Alert. It runs after commit, so it must be quick
(typically it enqueues a Celery task) and idempotent.
"""

from collections.abc import Callable

AlertListener = Callable[[int], None]

_listeners: list[AlertListener] = []


def register_alert_listener(fn: AlertListener) -> AlertListener:
    """Call `fn(alert_id)` after each commit that opened an alert; usable as decorator."""
    if fn not in _listeners:
        _listeners.append(fn)
    return fn


def unregister_alert_listener(fn: AlertListener) -> None:
    """Stop calling `fn` (tests use this to clean up)."""
    if fn in _listeners:
        _listeners.remove(fn)


def alert_opened(alert_id: int) -> None:
    """Tell every listener that `alert_id` was opened (call through on_commit)."""
    for fn in tuple(_listeners):
        fn(alert_id)
