"""Where a day begins: the two meanings the platform uses, under two names.

- `local_day_start(day)`: the first moment of a calendar date in the organisation's time zone
  (settings.TIME_ZONE), as the rollups and tasks count days. Reports filter a datetime column
  on `[local_day_start(first), local_day_start(last + 1 day))`, which an index serves. A
  reader's own zone (xmplatform.core.viewer_zone) changes how moments are shown, not which
  day holds them.
- `utc_day_start(moment)`: midnight UTC of the day a moment falls on, the only time kept of
  what an anonymous respondent did (a day says nothing of the order within it).
"""

import datetime as dt

from django.utils import timezone


def local_day_start(day: dt.date) -> dt.datetime:
    """The first moment of `day` in the organisation's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def utc_day_start(moment: dt.datetime) -> dt.datetime:
    """Midnight UTC of the UTC day `moment` falls on (`moment` must be aware)."""
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
