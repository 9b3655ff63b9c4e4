"""Reading times a person types: ISO 8601, `HH:MM`, `now` or `+10m` (pure; takes `now`)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from safari_auto.times import parse_iso

_RELATIVE = re.compile(r"^\+?(\d+)\s*(s|m|h|d)$")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# A relative time reaches at most this far ahead (ten years), whatever its unit.
MAX_AHEAD = timedelta(days=3653)


def parse_when(text: str, *, now: datetime, tz: str) -> datetime:
    """An aware datetime for `text`, read in zone `tz` when it names no zone.

    `HH:MM` means the next such wall-clock time (today, or tomorrow if it has passed).
    """
    value = text.strip().lower()
    zone = ZoneInfo(tz)
    if value in ("", "now"):
        return now
    match = _RELATIVE.match(value)
    if match:
        amount = match.group(1)
        try:
            ahead = timedelta(**{_UNITS[match.group(2)]: int(amount[:15])})
        except OverflowError:
            ahead = MAX_AHEAD * 2
        if len(amount) > 15 or ahead > MAX_AHEAD:
            raise ValueError(f"{_shown(text)} is too far ahead: at most ten years")
        return now + ahead
    if ":" in value and _CLOCK.fullmatch(value):
        at = parse_clock(value)
        local_now = now.astimezone(zone)
        candidate = _at(local_now, at, zone)
        if candidate <= now:
            candidate = _at(local_now + timedelta(days=1), at, zone)
        return candidate
    parsed = parse_iso(text, assume=zone)
    if parsed is None:
        raise ValueError(
            f"cannot read {_shown(text)} as a time: use ISO 8601 (2026-11-26T14:30), HH:MM, "
            "now or +10m"
        )
    try:
        parsed.astimezone(ZoneInfo("UTC"))  # the stored form must exist (years 1 and 9999)
    except OverflowError:
        raise ValueError(f"{_shown(text)} is out of range") from None
    return parsed


def parse_clock(text: str) -> time:
    """`9:00`, `09:00` or `17` as a time of day; ValueError for anything else."""
    match = _CLOCK.fullmatch(text.strip())
    if match is None or int(match.group(1)) > 23 or int(match.group(2) or 0) > 59:
        raise ValueError(f"{_shown(text)} is not a time of day (use HH:MM)")
    return time(int(match.group(1)), int(match.group(2) or 0))


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _at(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day.date(), at).replace(tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)
