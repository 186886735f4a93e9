"""Each admin user's own settings: read and saved here, shown on "Your settings"."""

from __future__ import annotations

from django.db import transaction

from xmplatform.core.models import UserSettings
from xmplatform.core.viewer_zone import known_zones


class UnknownTimeZone(ValueError):
    """A time zone name the IANA database does not know."""


def user_time_zone(*, user_id: int) -> str:
    """The zone the user chose ("" = the browser's); a user who never chose has no row."""
    names = UserSettings.objects.filter(user_id=user_id).values_list("time_zone", flat=True)
    return next(iter(names), "")


@transaction.atomic
def user_time_zone_set(*, user_id: int, time_zone: str) -> UserSettings:
    """Save the user's zone: an IANA name, or "" for the browser's. Raises UnknownTimeZone.

    One row per user (the one-to-one constraint); a second save updates it.
    """
    if time_zone and time_zone not in known_zones():
        raise UnknownTimeZone(time_zone)
    row, _created = UserSettings.objects.update_or_create(
        user_id=user_id, defaults={"time_zone": time_zone}
    )
    return row
