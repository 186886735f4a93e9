"""The one schedule of periodic tasks (synced into django-celery-beat's tables).

Each entry says why it runs and carries an `expires` so a backlog never piles up.
"""

BEAT_SCHEDULE: dict[str, dict] = {}
