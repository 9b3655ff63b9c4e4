"""Times as text, both ways, for every app (pure: no clock, no database).

- `parse_iso`: an ISO 8601 time from a service, a person or a payload, always aware or None.
- `duration_text`: a span as people read it ("4h 23m", "3m 20s"); the dashboard's countdown
  (`human()` in dashboard.js) writes the same, so a server-rendered "in 3m 20s" does not change
  style when the page starts ticking.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo


def parse_iso(value: object, *, assume: tzinfo | None = None) -> datetime | None:
    """The aware time an ISO 8601 string names, or None when `value` is not one.

    A trailing `Z` means UTC (Python 3.11's `fromisoformat` reads it). A time naming no zone
    is read in `assume`; without `assume` it is refused (None), never returned naive.
    """
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None if assume is None else moment.replace(tzinfo=assume)
    return moment


def duration_text(span: timedelta) -> str:
    """'1d 2h', '4h 23m', '3m 20s' or '40s': the two largest units, seconds dropped below.

    A negative span reads '0s' (it is due)."""
    seconds = max(int(span.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"
