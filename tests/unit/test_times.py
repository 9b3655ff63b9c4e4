from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from safari_auto.times import duration_text, parse_iso

PARIS = ZoneInfo("Europe/Paris")


def test_a_trailing_z_is_utc():
    assert parse_iso("2026-11-28T10:00:00Z") == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert parse_iso("2026-11-28T10:00:00.123Z") == datetime(
        2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC
    )


def test_an_offset_is_kept():
    moment = parse_iso(" 2026-11-28T10:00:00+01:00 ")
    assert moment is not None
    assert moment.utcoffset() == timedelta(hours=1)


def test_a_time_naming_no_zone_is_refused_unless_a_zone_is_assumed():
    assert parse_iso("2026-11-28T10:00:00") is None
    assert parse_iso("2026-11-28T10:00:00", assume=UTC) == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert parse_iso("2026-11-28T10:00", assume=PARIS) == datetime(2026, 11, 28, 9, tzinfo=UTC)


@pytest.mark.parametrize("value", [None, "", "  ", "2h", "yesterday", "Z", 1764324000, b"2026"])
def test_what_is_not_an_iso_time_is_none(value):
    assert parse_iso(value, assume=UTC) is None


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=1, hours=2, minutes=5), "1d 2h"),
        (timedelta(hours=4, minutes=23, seconds=40), "4h 23m"),
        (timedelta(minutes=3, seconds=20), "3m 20s"),
        (timedelta(minutes=5), "5m 0s"),
        (timedelta(seconds=40), "40s"),
        (timedelta(0), "0s"),
        (timedelta(minutes=-7), "0s"),
    ],
)
def test_a_span_reads_like_the_dashboard_countdown(span, text):
    assert duration_text(span) == text
