"""A row locked by another transaction, for tests of SKIP LOCKED claims (PostgreSQL)."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction


@contextmanager
def row_locked_elsewhere(model: type[models.Model], pk: int) -> Iterator[None]:
    """Hold `FOR NO KEY UPDATE` on one row in another thread's transaction while the block runs."""
    locked, release, errors = threading.Event(), threading.Event(), []

    def other_run() -> None:
        try:
            with transaction.atomic():
                model._default_manager.select_for_update(no_key=True).filter(pk=pk).get()
                locked.set()
                release.wait(timeout=20)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        if errors:
            raise errors[0]
        yield
    finally:
        release.set()
        thread.join(timeout=30)
    if errors:
        raise errors[0]
