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
