"""Platform-level tasks."""

from celery import shared_task


@shared_task(name="xmplatform.ping_write_task")
def ping_write_task(*, external_id: str) -> int:
    """Write one marker person; proves a worker reaches the database (used by health checks)."""
    from audiences.models import Person

    person, _ = Person.objects.get_or_create(
        external_id=external_id, defaults={"name": "Celery worker"}
    )
    return person.pk


@shared_task(name="xmplatform.people_retention_task", acks_late=True)
def people_retention_task() -> dict[str, int]:
    """Beat: unlink responses and cases older than their audience's retention from people."""
    from xmplatform.people import people_retention_apply

    return people_retention_apply()
