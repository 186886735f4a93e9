"""Celery tasks for audiences: thin wrappers over audiences.services."""

from smtplib import SMTPException

from celery import shared_task

from audiences import services


@shared_task(
    name="audiences.grant_notify_owner_task",
    autoretry_for=(SMTPException, ConnectionError),
    retry_backoff=60,
    max_retries=5,
)
def grant_notify_owner_task(grant_id: int) -> bool:
    """Tell an audience's owner that someone was given access to it."""
    return services.grant_notify_owner(grant_id=grant_id)


@shared_task(name="audiences.responses_retention_task", acks_late=True)
def responses_retention_task() -> int:
    """Beat: unlink responses older than their audience's retention from people."""
    return services.responses_apply_retention()
