"""A duration typed and shown in words: "2 days", "1 day 6 hours", "90 minutes", "2 gün".

The admin's own DurationField shows and wants "1 00:00:00"; this form field shows the value as
`humanize_duration` words in the reader's language and reads words in Turkish or English
(and still Django's "1 00:00:00" or ISO 8601 "P1D"), so what a page shows can be typed back.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_duration
from django.utils.translation import gettext_lazy as _

from xmplatform.core.words import humanize_duration

# Unit words (lower case, Turkish and English, singular and plural) → seconds.
_UNITS = {
    **dict.fromkeys(("w", "week", "weeks", "wk", "hafta"), 604_800),
    **dict.fromkeys(("d", "day", "days", "gün", "gun"), 86_400),
    **dict.fromkeys(("h", "hour", "hours", "hr", "hrs", "saat", "sa"), 3_600),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "dakika", "dk"), 60),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds", "saniye", "sn"), 1),
}
_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([^\W\d_]+)", re.UNICODE)
_JOINERS = re.compile(r"[\s,]+|\b(?:and|ve)\b", re.UNICODE)


def parse_duration_words(text: str) -> dt.timedelta | None:
    """The duration `text` names, or None when it names none.

    "2 days", "1 day 6 hours", "1d 6h", "90 dakika", "1 gün 6 saat", "1 00:00:00", "P1D".
    """
    text = text.strip()
    if not text:
        return None
    parsed = parse_duration(text)
    if parsed is not None:
        return parsed
    total = 0.0
    position = 0
    lowered = text.casefold()
    for match in _PART.finditer(lowered):
        if _JOINERS.sub("", lowered[position : match.start()]):
            return None  # words between the parts that are neither a number nor a unit
        unit = _UNITS.get(match.group(2))
        if unit is None:
            return None
        total += float(match.group(1).replace(",", ".")) * unit
        position = match.end()
    if position == 0 or _JOINERS.sub("", lowered[position:]):
        return None
    return dt.timedelta(seconds=round(total))


class DurationWordsField(forms.Field):
    """A duration in words (see the module docstring)."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid": _("Give a duration in words, e.g. “2 days”, “6 hours” or “1 day 12 hours”."),
        "negative": _("A duration cannot be negative."),
    }

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dt.timedelta):
            return humanize_duration(value, exact=True) if value else "0"
        return value

    def to_python(self, value: Any) -> dt.timedelta | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.timedelta):
            return value
        text = str(value).strip()
        if text == "0":
            return dt.timedelta(0)
        parsed = parse_duration_words(text)
        if parsed is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed < dt.timedelta(0):
            raise ValidationError(self.error_messages["negative"], code="negative")
        return parsed
