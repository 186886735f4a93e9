"""The production path: a real worker process against Redis and PostgreSQL."""

import pytest

from audiences.models import Person
from tests.support.workers import celery_workers, wait_until
from xmplatform.tasks import ping_write_task


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_real_worker_writes_a_row_through_redis() -> None:
    with celery_workers(1):
        ping_write_task.delay(external_id="written-by-worker")
        assert wait_until(lambda: Person.objects.filter(external_id="written-by-worker").exists())
    person = Person.objects.get(external_id="written-by-worker")
    assert person.name == "Celery worker"
