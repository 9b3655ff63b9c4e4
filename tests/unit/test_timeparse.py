from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.timeparse import parse_clock, parse_when

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


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("+999999999d", "too far ahead"),
        ("+999999999999999999999s", "too far ahead"),
        ("+" + "9" * 5000 + "m", "too far ahead"),
        ("+3654d", "too far ahead"),
        ("9999-12-31T23:59:59-14:00", "out of range"),
        ("0001-01-01T00:00:00+14:00", "out of range"),
    ],
)
def test_times_beyond_what_a_date_can_hold_are_a_clear_error(text, message):
    with pytest.raises(ValueError, match=message):
        parse_when(text, now=NOW, tz="Europe/Paris")


def test_ten_years_ahead_is_still_a_time():
    assert parse_when("+3650d", now=NOW, tz="UTC") == NOW + timedelta(days=3650)


@pytest.mark.parametrize(
    ("text", "at"), [("9:00", time(9, 0)), ("09:30", time(9, 30)), ("17", time(17, 0))]
)
def test_a_clock_time_is_hours_with_optional_minutes(text, at):
    assert parse_clock(text) == at


@pytest.mark.parametrize("text", ["24:00", "12:60", "9:5", "noon", "", "9:00pm"])
def test_a_clock_time_out_of_the_day_is_refused(text):
    with pytest.raises(ValueError, match="not a time of day"):
        parse_clock(text)
