"""Who handles what: every cross-app side effect, by event name (the README's event table).

An app that changes state writes an outbox row in the same transaction
(`xmplatform.core.outbox.outbox_emit("response.completed", response_id=…)`); the relay calls
each handler listed here for that event, by its dotted path, in a transaction of its own that
also marks the row done. Handlers live in the app that owns the effect; this table lives at the
top, so no app needs to know who listens to it.
"""

HANDLERS: dict[str, tuple[str, ...]] = {
    # journeys stored new touchpoint events: plan the invitations their triggers ask for.
    "event.recorded": ("surveys.distribution.planning.events_recorded_handler",),
    # surveys completed a response: response alert rules, then webhooks.
    "response.completed": (
        "metrics.closedloop.handlers.response_completed_handler",
        "xmplatform.api.handlers.response_completed_handler",
    ),
    # the closed loop opened an alert: the immediate e-mail, then webhooks.
    "alert.opened": (
        "metrics.closedloop.handlers.alert_opened_handler",
        "xmplatform.api.handlers.alert_opened_handler",
    ),
    # a follow-up case was assigned, noted, closed or reopened: webhooks.
    "case.changed": ("xmplatform.api.handlers.case_changed_handler",),
    # audiences erased a person: every app above erases what it holds of them.
    "person.erased": ("xmplatform.people.person_erased_handler",),
    # the API logged webhook deliveries: post them.
    "webhook.due": ("xmplatform.api.handlers.webhook_due_handler",),
    # invitations were planned due now: send them without waiting for the minute's sweep.
    "invitation.due": ("surveys.distribution.sending.invitations_due_handler",),
    # an access grant was given: tell the audience's owner.
    "access.granted": ("audiences.services.access.access_granted_handler",),
}
