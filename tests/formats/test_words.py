"""Dates, durations and schedules in words, one format per language (no database)."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import formats, timezone, translation

from xmplatform.core.duration_field import DurationWordsField, parse_duration_words
from xmplatform.core.words import cron_in_words, format_moment, humanize_duration

MOMENT = dt.datetime(2026, 12, 7, 14, 5, tzinfo=dt.UTC)
ISTANBUL = zoneinfo.ZoneInfo("Europe/Istanbul")


@pytest.mark.parametrize(
    ("language", "long", "short", "day"),
    [
        ("en", "7 Dec 2026, 14:05", "7 Dec 2026, 14:05", "7 Dec 2026"),
        ("tr", "7 Aralık 2026 14:05", "07.12.2026 14:05", "7 Aralık 2026"),
    ],
)
def test_a_moment_has_one_format_per_language(language, long, short, day) -> None:  # noqa: ANN001
    with translation.override(language), timezone.override(dt.UTC):
        local = timezone.localtime(MOMENT)
        assert formats.date_format(local, "DATETIME_FORMAT") == long
        assert formats.date_format(local, "SHORT_DATETIME_FORMAT") == short
        assert formats.date_format(local.date(), "DATE_FORMAT") == day


def test_a_moment_is_shown_in_the_readers_zone_with_its_name() -> None:
    with translation.override("en"), timezone.override(ISTANBUL):
        assert format_moment(MOMENT) == "7 Dec 2026, 17:05 Europe/Istanbul"
    with translation.override("tr"), timezone.override(dt.UTC):
        assert format_moment(MOMENT, short=True) == "07.12.2026 14:05 UTC"
    assert format_moment(None) == ""


@pytest.mark.parametrize(
    ("value", "en", "tr"),
    [
        (dt.timedelta(days=2), "2 days", "2 gün"),
        (dt.timedelta(days=1), "1 day", "1 gün"),
        (dt.timedelta(days=1, hours=6, seconds=3), "1 day 6 hours", "1 gün 6 saat"),
        (dt.timedelta(minutes=90), "1 hour 30 minutes", "1 saat 30 dakika"),
        (dt.timedelta(days=1, seconds=30), "1 day", "1 gün"),
        (dt.timedelta(0), "no time", "süre yok"),
    ],
)
def test_durations_read_in_words(value, en, tr) -> None:  # noqa: ANN001
    with translation.override("en"):
        assert humanize_duration(value) == en
    with translation.override("tr"):
        assert humanize_duration(value) == tr
    assert humanize_duration(None) == ""


@pytest.mark.parametrize(
    "text",
    [
        "2 days",
        "2 gün",
        "1 day 12 hours",
        "1 gün 12 saat",
        "1d 12h",
        "2 00:00:00",
        "P2D",
        "2880 min",
    ],
)
def test_a_duration_typed_in_words_in_either_language_is_read(text: str) -> None:
    expected = dt.timedelta(days=2) if "12" not in text else dt.timedelta(days=1, hours=12)
    assert parse_duration_words(text) == expected


def test_a_duration_shown_in_a_form_reads_back_as_the_same_duration() -> None:
    value = dt.timedelta(days=1, seconds=30)
    field = DurationWordsField()
    for language in ("en", "tr"):
        with translation.override(language):
            shown = field.prepare_value(value)
            assert field.clean(shown) == value
    with translation.override("tr"):
        assert field.prepare_value(value) == "1 gün 30 saniye"


@pytest.mark.parametrize("text", ["two days", "2 parsecs", "2 days later", "-1 day"])
def test_a_duration_the_field_cannot_read_is_refused_with_an_example(text: str) -> None:
    from django.core.exceptions import ValidationError

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        DurationWordsField().clean(text)
    assert refused.value.messages[0].startswith(("Give a duration in words", "A duration cannot"))


@pytest.mark.parametrize(
    ("cron", "zone", "en", "tr"),
    [
        (
            "0 10 1 * *",
            "Europe/Istanbul",
            "At 10:00, on day 1 of the month (Europe/Istanbul)",
            "Saat 10:00, ayın 1. günü (Europe/Istanbul)",
        ),
        ("30 8 * * 1", None, "At 08:30, only on Monday", "Saat 08:30, sadece Pazartesi günü"),
        (
            "0 9 1 1,4,7,10 *",
            "UTC",
            "At 09:00, on day 1 of the month, only in January, April, July, and October (UTC)",
            "Saat 09:00, ayın 1. günü, sadece Ocak, Nisan, Temmuz, ve Ekim için (UTC)",
        ),
    ],
)
def test_cron_lines_read_in_words_in_both_languages(cron, zone, en, tr) -> None:  # noqa: ANN001
    with translation.override("en"):
        assert cron_in_words(cron, zone=zone) == en
    with translation.override("tr"):
        assert cron_in_words(cron, zone=zone) == tr


def test_a_cron_line_the_describer_cannot_read_is_shown_as_written() -> None:
    with translation.override("en"):
        assert cron_in_words("0 10 * *") == "0 10 * *"
