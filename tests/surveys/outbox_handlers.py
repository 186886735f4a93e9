"""An outbox handler for the completion tests: it leaves one mark per response it is given."""

from django.contrib.auth.models import Group


def response_seen_handler(*, message_id: int, response_id: int) -> None:
    """One group per response (a unique name: a second run for the same response would fail)."""
    Group.objects.create(name=f"seen:{response_id}")
