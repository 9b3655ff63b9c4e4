"""Reading times a person types: ISO 8601, `HH:MM`, `now` or `+10m` (pure; takes `now`)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_RELATIVE = re.compile(r"^\+?(\d+)\s*(s|m|h|d)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


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
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if re.fullmatch(r"\d{1,2}:\d{2}", value):
        hours, minutes = (int(part) for part in value.split(":"))
        if hours > 23 or minutes > 59:
            raise ValueError(f"{text!r} is not a time of day")
        local_now = now.astimezone(zone)
        candidate = _at(local_now, time(hours, minutes), zone)
        if candidate <= now:
            candidate = _at(local_now + timedelta(days=1), time(hours, minutes), zone)
        return candidate
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a time: use ISO 8601 (2026-11-26T14:30), HH:MM, now or +10m"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _at(day: datetime, at: time, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day.date(), at).replace(tzinfo=zone)
    return local.astimezone(ZoneInfo("UTC")).astimezone(zone)
