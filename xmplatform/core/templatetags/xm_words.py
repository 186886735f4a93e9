"""Template filters for values in words: `duration`, `cron_words` and `when`."""

from __future__ import annotations

import datetime as dt

from django import template

from xmplatform.core.words import cron_in_words, format_moment, humanize_duration

register = template.Library()


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """A timedelta in words in the active language: "2 days", "1 gün 6 saat"."""
    return humanize_duration(value)


@register.filter
def cron_words(expression: str, zone: str | None = None) -> str:
    """A cron line in words, with its time zone when given."""
    return cron_in_words(expression or "", zone=zone)


@register.filter
def when(value: dt.datetime | None, length: str = "long") -> str:
    """A moment in the reader's time zone with the zone's name: "7 Dec 2026, 14:05 UTC"."""
    return format_moment(value, short=length == "short")
