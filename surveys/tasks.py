"""Celery tasks for distribution (thin wrappers over surveys.distribution)
and the one that announces completed responses to their listeners (surveys.hooks).

Delays never wait in the broker: invitations carry `due_at` and the beat task picks up what
is due. Each task does one short piece (one batch of a few hundred), so a redelivery
(acks_late, visibility timeout) costs little and, thanks to the database claim, sends nothing
twice.
"""

import datetime
import math

from celery import shared_task
from django.utils import timezone

from surveys import hooks
from surveys.distribution import planning as distribution
from surveys.distribution import sending
from surveys.models import DistributionRule

FAN_OUT_MAX = 200


@shared_task(name="surveys.dispatch_due_task", acks_late=True)
def dispatch_due_task(now: str | None = None) -> int:
    """Beat: reconcile and expire, then fan out one batch task per BATCH due invitations."""
    moment = datetime.datetime.fromisoformat(now) if now else timezone.now()
    sending.invitations_reconcile(now=moment)
    sending.invitations_expire(now=moment)
    batches = min(FAN_OUT_MAX, math.ceil(sending.due_count(now=moment) / sending.BATCH))
    for _ in range(batches):
        dispatch_batch_task.apply_async(kwargs={"now": now}, queue="bulk")
    return batches


@shared_task(name="surveys.dispatch_batch_task", acks_late=True)
def dispatch_batch_task(now: str | None = None) -> dict:
    """Claim, admit and send one batch."""
    moment = datetime.datetime.fromisoformat(now) if now else timezone.now()
    return sending.dispatch_batch(now=moment)


@shared_task(name="surveys.reconcile_sending_task")
def reconcile_sending_task() -> int:
    """Beat: invitations stuck in `sending` become delivery unknown (never re-sent)."""
    return sending.invitations_reconcile(now=timezone.now())


@shared_task(name="surveys.plan_events_task", acks_late=True)
def plan_events_task(event_ids: list[int]) -> int:
    """Plan triggered invitations for newly recorded touchpoint events."""
    return distribution.invitations_plan_for_events(event_ids=event_ids)


@shared_task(name="surveys.wave_run_task", acks_late=True)
def wave_run_task(rule_id: int) -> int:
    """django-celery-beat runs this for a wave's schedule; plans the wave (no sending)."""
    rule = (
        DistributionRule.objects.select_related("survey__audience")
        .filter(pk=rule_id, active=True)
        .first()
    )
    if rule is None:
        return 0
    return distribution.wave_run(rule=rule).planned


@shared_task(name="surveys.send_reminders_task", acks_late=True)
def send_reminders_task() -> int:
    """Beat: one batch of reminders per tick (reminders are claimed before sending)."""
    return sending.reminders_send(now=timezone.now())


# No result: nothing waits for it, so the publishing request subscribes to none.
@shared_task(name="surveys.response_completed_task", acks_late=True, ignore_result=True)
def response_completed_task(response_id: int) -> None:
    """Tell the response listeners (alerts, webhooks) about one completed response."""
    hooks.response_listeners_call(response_id)


@shared_task(name="surveys.completions_reconcile_task", acks_late=True)
def completions_reconcile_task(now: str | None = None) -> int:
    """Beat: announce again the completed responses whose completion task was lost."""
    return hooks.completions_reconcile(now=datetime.datetime.fromisoformat(now) if now else None)
