"""Pure credit maths: readings, refresh detection, interval learning, estimates.

No ORM, no clock, no I/O: every function takes the times it needs and returns values, so it is
tested in milliseconds with explicit datetimes.

Unknown is `None` everywhere (the service's -1), and is never read as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from statistics import median
from typing import Any

from safari_auto.times import duration_text, parse_iso

DEFAULT_INTERVAL = timedelta(hours=24)
# Gaps shorter than this between two observed refreshes are noise (a purchase, a retry).
MIN_INTERVAL = timedelta(hours=1)
HOURLY = timedelta(hours=1)
UNKNOWN_RECHECK = timedelta(minutes=10)
# Check a little after the estimate, so the refresh has happened when we look.
REFRESH_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Reading:
    """One usage reading. `remaining` None: unknown."""

    remaining: int | None
    free: int | None = None
    paid: int | None = None
    refreshes_at: datetime | None = None
    videos_generated_today: int | None = None
    daily_limit: int | None = None
    plan: str = ""

    @property
    def total(self) -> int | None:
        """free + paid when both are known; otherwise remaining is the total."""
        if self.free is not None and self.paid is not None:
            return self.free + self.paid
        return self.remaining


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if value < 0 else int(value)


def parse_usage(body: Mapping[str, Any]) -> Reading:
    """Read /v1/sora/usage. -1, absent or malformed values are unknown (None)."""
    free = _count(body.get("free"))
    paid = _count(body.get("paid"))
    remaining = _count(body.get("remaining"))
    if remaining is None and free is not None and paid is not None:
        remaining = free + paid
    return Reading(
        remaining=remaining,
        free=free,
        paid=paid,
        refreshes_at=parse_iso(body.get("refreshes_at")),
        videos_generated_today=_count(body.get("videos_generated_today")),
        daily_limit=_count(body.get("daily_limit")),
        plan=str(body.get("plan") or ""),
    )


def awaiting_first_command(raw: Mapping[str, Any]) -> bool:
    """The real service answers usage with -1 and an `error` until a first command has run on
    it (after each start of the service): the credits did not change, it has not looked yet."""
    return raw.get("remaining") == -1 and bool(raw.get("error"))


def is_refresh(previous: Reading | None, current: Reading) -> bool:
    """A jump upward since the previous known reading. Free credits when both sides know
    them (a purchase of paid credits is not a refresh), else remaining."""
    if previous is None:
        return False
    if previous.free is not None and current.free is not None:
        return current.free > previous.free
    if previous.remaining is None or current.remaining is None:
        return False
    return current.remaining > previous.remaining


def refresh_moment(
    previous_at: datetime, current_at: datetime, previous_hint: datetime | None
) -> datetime:
    """When a refresh seen between two readings happened: the hint the earlier reading gave,
    when it falls between them; otherwise the later reading (the latest it can have been)."""
    if previous_hint is not None and previous_at < previous_hint <= current_at:
        return previous_hint
    return current_at


def typical_interval(refreshes: Sequence[datetime]) -> timedelta:
    """The median gap between observed refreshes (24 h until there are two)."""
    ordered = sorted(moment.astimezone(UTC) for moment in refreshes)
    gaps = [b - a for a, b in pairwise(ordered) if b - a >= MIN_INTERVAL]
    if not gaps:
        return DEFAULT_INTERVAL
    return timedelta(seconds=median(gap.total_seconds() for gap in gaps))


def estimate_next_refresh(
    *, refreshes: Sequence[datetime], hint: datetime | None, now: datetime
) -> datetime | None:
    """The service's own refresh time when it gives one; else the last refresh plus the
    typical interval. Missed refreshes (credits that were full, say) roll the estimate forward,
    but it stays at most one interval in the past, so an overdue refresh reads as overdue."""
    if hint is not None:
        return hint
    if not refreshes:
        return None
    interval = typical_interval(refreshes)
    # Absolute time: in a local zone, `+` would be wall-clock maths and drift across DST.
    estimate = max(refreshes).astimezone(UTC) + interval
    while estimate + interval <= now:
        estimate += interval
    return estimate


def next_check_at(*, now: datetime, estimate: datetime | None, known: bool) -> datetime:
    """When to read usage next: soon when it was unknown, at the estimate when it is ahead,
    hourly otherwise (no estimate yet, or an overdue refresh not seen yet)."""
    if not known:
        return now + UNKNOWN_RECHECK
    if estimate is not None and estimate > now:
        return min(estimate + REFRESH_GRACE, now + DEFAULT_INTERVAL)
    return now + HOURLY


def available(remaining: int | None, reserved: int) -> int | None:
    """Credits free for admission: the reading minus the reservations it did not see."""
    if remaining is None:
        return None
    return remaining - reserved


def time_until(now: datetime, when: datetime | None) -> str | None:
    """A human string like "4h 23m" (null when unknown; "0s" once due)."""
    return None if when is None else duration_text(when - now)


def credits_reason(
    *, needs: int | None, free: int | None, estimate: datetime | None, tz: Any = None
) -> str:
    """Why a credit-gated part waits: "needs 3 credits, 1 free, refresh ≈ 04:10"."""
    if free is None:
        return "credits unknown — checking"
    when = "refresh time unknown"
    if estimate is not None:
        local = estimate.astimezone(tz) if tz is not None else estimate
        when = f"refresh ≈ {local:%H:%M}"
    wanted = f"needs {needs} credits" if needs else "needs more credits"
    return f"{wanted}, {max(free, 0)} free, {when}"
