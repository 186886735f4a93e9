"""Which scheduled time a wave's run stands for, read from its schedule rather than the clock.

A wave run is keyed by (rule, scheduled time) (surveys.models.WaveRun), so the time must be the
same for every beat process that fires it, whenever each one's task reaches a worker: the
schedule's latest tick at or before the moment the task runs. A crontab's tick is found by
walking its fields back from that moment in the crontab's own time zone (Celery's rule: the
month, the day of the month and the day of the week must all match); a one-off's is its
clocked time; an interval's is the moment floored to a multiple of the interval. A wave with
no schedule (planned by hand) stands for the moment itself.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_celery_beat.models import PeriodicTask

DAY = datetime.timedelta(days=1)
# A crontab that fires at all fires within this many days back or ahead (29 February on a
# given weekday recurs within 28 years).
SEARCH_DAYS = 366 * 28


def fired_for(task: PeriodicTask | None, *, now: datetime.datetime) -> datetime.datetime:
    """The scheduled time a run of `task` at `now` stands for (`now` without a schedule)."""
    if task is None:
        return now
    if task.clocked_id is not None:
        return task.clocked.clocked_time
    if task.crontab_id is not None:
        return crontab_tick(task.crontab.schedule, now=now, after=False) or now
    if task.interval_id is not None:
        every = task.interval.schedule.run_every.total_seconds()
        if every >= 1:
            epoch = now.timestamp()
            return datetime.datetime.fromtimestamp(epoch - epoch % every, tz=datetime.UTC)
    return now.replace(second=0, microsecond=0)


def next_time(task: PeriodicTask | None, *, now: datetime.datetime) -> datetime.datetime:
    """The scheduled time of the next run of `task` after `now` (what a forecast samples for):
    the crontab's next tick, a one-off's clocked time; otherwise as `fired_for`."""
    if task is not None and task.clocked_id is not None:
        return task.clocked.clocked_time
    if task is not None and task.crontab_id is not None:
        return crontab_tick(task.crontab.schedule, now=now, after=True) or now
    return fired_for(task, now=now)


def crontab_tick(cron: Any, *, now: datetime.datetime, after: bool) -> datetime.datetime | None:
    """The latest tick of the Celery crontab `cron` at or before `now` (the first one after it
    with `after`), in UTC; None if it never fires in SEARCH_DAYS."""
    tz = getattr(cron, "tz", None) or datetime.UTC
    local = now.astimezone(tz)
    times = sorted(
        (datetime.time(hour, minute) for hour in cron.hour for minute in cron.minute),
        reverse=not after,
    )
    day = local.date()
    for _offset in range(SEARCH_DAYS):
        if (
            day.month in cron.month_of_year
            and day.day in cron.day_of_month
            and day.isoweekday() % 7 in cron.day_of_week
        ):
            for time in times:
                at = datetime.datetime.combine(day, time, tzinfo=tz)
                if (at > local) if after else (at <= local):
                    return at.astimezone(datetime.UTC)
        day += DAY if after else -DAY
    return None
