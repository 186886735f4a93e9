"""Values in words for people, in the active language: moments with their zone, durations
("2 days", "2 gün") and cron schedules, so no page shows "1 00:00:00" or "0 10 1 * *"."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

from django.utils import formats, timezone
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.translation import get_language, gettext, ngettext

# (seconds, singular/plural in the active language), largest first.
_UNITS = (
    (86_400, lambda n: ngettext("%(n)d day", "%(n)d days", n)),
    (3_600, lambda n: ngettext("%(n)d hour", "%(n)d hours", n)),
    (60, lambda n: ngettext("%(n)d minute", "%(n)d minutes", n)),
    (1, lambda n: ngettext("%(n)d second", "%(n)d seconds", n)),
)


def humanize_duration(value: dt.timedelta | None, *, parts: int = 2, exact: bool = False) -> str:
    """`value` as its `parts` largest units ("1 day 6 hours"); "" for None, "no time" for 0.

    Weeks are left as days (14 days reads as the window a policy names); what is below the
    last unit shown is dropped, never rounded up. `exact` names every unit (a form's value,
    which must read back as the same duration).
    """
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return gettext("no time")
    sign, seconds = ("−", -seconds) if seconds < 0 else ("", seconds)
    words = []
    for size, word in _UNITS:
        n, seconds = divmod(seconds, size)
        if n:
            words.append(word(n) % {"n": n})
        elif words and not exact:
            # A gap ends the description: "1 day 30 seconds" reads as a typo.
            break
        if len(words) == parts and not exact:
            break
    return sign + " ".join(words)


def format_moment(value: dt.datetime | None, *, short: bool = False) -> str:
    """`value` in the reader's time zone and the language's format, with the zone's name:
    "7 Dec 2026, 14:05 Europe/Istanbul" ("" for None)."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    text = formats.date_format(local, "SHORT_DATETIME_FORMAT" if short else "DATETIME_FORMAT")
    return f"{text} {timezone.get_current_timezone_name()}"


# cron-descriptor's catalogues are named by full locale.
_CRON_LOCALES = {"tr": "tr_TR", "en": "en_US"}


@lru_cache(maxsize=256)
def _cron_description(expression: str, locale: str) -> str:
    from cron_descriptor import ExpressionDescriptor, FormatException, Options

    options = Options()
    options.locale_code = locale
    options.use_24hour_time_format = True
    options.day_of_week_start_index_zero = True
    try:
        return ExpressionDescriptor(expression, options).get_description()
    except (FormatException, ValueError, KeyError, IndexError):
        return ""


def cron_in_words(expression: str, *, zone: str | None = None) -> str:
    """A five-field cron line in the active language, with its time zone when given.

    "0 10 1 * *" with Europe/Istanbul: "At 10:00, on day 1 of the month (Europe/Istanbul)";
    in Turkish "Saat 10:00, ayın 1. günü (Europe/Istanbul)". An expression the describer cannot
    read is returned as written, so nothing is hidden.
    """
    expression = " ".join(expression.split())
    language = (get_language() or "en").split("-")[0]
    words = _cron_description(expression, _CRON_LOCALES.get(language, "en_US")) or expression
    if language != "en" and words != expression:
        # The describer names months and weekdays in English whatever its locale.
        words = _ENGLISH_NAMES.sub(lambda m: str(_NAMES[m.group()]), words)
    return f"{words} ({zone})" if zone else words


_NAMES = {
    **{dt.date(2026, m, 1).strftime("%B"): name for m, name in MONTHS.items()},
    **{dt.date(2026, 1, 5 + d).strftime("%A"): name for d, name in WEEKDAYS.items()},
}
_ENGLISH_NAMES = re.compile(r"\b(" + "|".join(_NAMES) + r")\b")


def crontab_in_words(crontab: Any) -> str:
    """A beat crontab (django_celery_beat's CrontabSchedule) in words, in its time zone."""
    expression = " ".join(
        str(part)
        for part in (
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
        )
    )
    return cron_in_words(expression, zone=str(crontab.timezone))


def periodic_task_in_words(task: Any) -> str:
    """When a beat entry (django_celery_beat's PeriodicTask) runs, in words; "" for none."""
    if task.crontab_id:
        return crontab_in_words(task.crontab)
    if task.clocked_id:
        return gettext("Once, on %(moment)s") % {"moment": format_moment(task.clocked.clocked_time)}
    if task.interval_id:
        every = dt.timedelta(**{task.interval.period: task.interval.every})
        return gettext("Every %(duration)s") % {"duration": humanize_duration(every, parts=3)}
    if task.solar_id:
        return str(task.solar)
    return ""


def short_moment(value: dt.datetime) -> str:
    """`value` in the reader's zone in the language's short form ("7 Dec 2026, 14:05"), for
    the names of rows (a model's __str__) where the zone is understood."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return formats.date_format(local, "SHORT_DATETIME_FORMAT")
