"""Celery tasks for distribution (thin wrappers over surveys.distribution).

Delays never wait in the broker: invitations carry `due_at` and the beat task picks up what
is due. Each task does one short piece (one batch of a few hundred), so a redelivery
(acks_late, visibility timeout) costs little and, thanks to the database claim, sends nothing
twice.
"""

import datetime
import math

from celery import shared_task
from django.utils import timezone

from surveys.distribution import planning as distribution
from surveys.distribution import reminders, sending

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


@shared_task(name="surveys.dispatch_now_task", acks_late=True, ignore_result=True)
def dispatch_now_task() -> None:
    """Send what is due now, a few batches at most (invitations planned due now: on demand or
    by a trigger without delay); the beat's dispatch_due_task sends the rest."""
    sending.dispatch_now_after_commit()


@shared_task(name="surveys.reconcile_sending_task")
def reconcile_sending_task() -> int:
    """Beat: invitations stuck in `sending` become delivery unknown (never re-sent)."""
    return sending.invitations_reconcile(now=timezone.now())


@shared_task(name="surveys.wave_run_task", acks_late=True)
def wave_run_task(rule_id: int) -> int:
    """django-celery-beat runs this for a wave's schedule; plans the wave (no sending), once
    per scheduled time however many beat processes fire it."""
    return distribution.wave_run_scheduled(rule_id=rule_id).planned


@shared_task(name="surveys.send_reminders_task", acks_late=True)
def send_reminders_task() -> int:
    """Beat: one batch of reminders per tick (reminders are claimed before sending)."""
    return reminders.reminders_send(now=timezone.now())
