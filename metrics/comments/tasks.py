"""Celery tasks of the text pipeline: thin callers of metrics.comments.processing."""

import dataclasses
from typing import Any

from celery import shared_task

from metrics.comments import processing


@shared_task(name="comments.process_task", acks_late=True)
def process_task() -> dict[str, Any]:
    """Process the free-text answers that are new since the last run (incremental; a rerun or a
    doubled beat does nothing twice)."""
    return dataclasses.asdict(processing.comments_process())
