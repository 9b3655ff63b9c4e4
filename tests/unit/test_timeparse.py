from datetime import UTC, datetime, timedelta

import pytest

from scheduler.timeparse import parse_when

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_hh_mm_is_the_next_such_time_in_the_configured_zone():
    # 08:00 in Los Angeles is 16:00 UTC, still ahead today.
    assert parse_when("08:00", now=NOW, tz="America/Los_Angeles") == datetime(
        2026, 11, 26, 16, 0, tzinfo=UTC
    )
    # 03:00 LA (11:00 UTC) has passed: tomorrow.
    assert parse_when("3:00", now=NOW, tz="America/Los_Angeles") == datetime(
        2026, 11, 27, 11, 0, tzinfo=UTC
    )


def test_iso_without_zone_is_read_in_the_configured_zone():
    assert parse_when("2026-12-01T09:30", now=NOW, tz="Europe/Paris") == datetime(
        2026, 12, 1, 8, 30, tzinfo=UTC
    )
    assert parse_when("2026-12-01T09:30Z", now=NOW, tz="Europe/Paris") == datetime(
        2026, 12, 1, 9, 30, tzinfo=UTC
    )


def test_relative_and_now():
    assert parse_when("now", now=NOW, tz="UTC") == NOW
    assert parse_when("+10m", now=NOW, tz="UTC") == NOW + timedelta(minutes=10)
    assert parse_when("2h", now=NOW, tz="UTC") == NOW + timedelta(hours=2)


@pytest.mark.parametrize("text", ["tomorrow-ish", "25:00", "12:61"])
def test_unreadable_times_say_how_to_write_them(text):
    with pytest.raises(ValueError, match=r"time"):
        parse_when(text, now=NOW, tz="UTC")
