"""Platform limits as pure functions: no ORM, no clock, no I/O.

Given an account's limit settings, the times of its recent sends (from the ledger) and `now`,
`evaluate` says how many sends are allowed right now, and if none, until when and why. The
dispatcher's probe turns that into a planning `Gate`; the send handler checks it again inside
the transaction that records the attempt, so a limit is enforced before the service is called.

- hourly cap over a rolling 60 minutes, daily cap over a rolling 24 hours;
- a minimum gap: after each send the ledger stores `next_allowed_at` (drawn by `draw_next_allowed`);
- active hours in the account's time zone (DST-safe, through `planning.active_window`);
- warm-up: a new account starts at a fraction of its caps and gains a little every day;
- cooldown after a 429 or a reported limit: the service's retry time or a base, doubling on
  each repeat, capped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dm.platforms import PLATFORM_LABELS
from scheduler.planning import Gate, active_window

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class LimitConfig:
    """One (account, action)'s limits."""

    hourly_cap: int
    daily_cap: int
    min_gap_seconds: int
    max_gap_seconds: int
    tz: str = "UTC"
    active_start: time = time(9, 0)
    active_end: time = time(21, 0)
    warmup_started_on: date | None = None
    warmup_start_percent: int = 30
    warmup_daily_percent: int = 10


@dataclass(frozen=True)
class LimitState:
    """What the ledger and the limit row say: recent send times, next allowed, cooldown."""

    sent_times: Sequence[datetime] = ()
    next_allowed_at: datetime | None = None
    cooldown_until: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """`allowed` sends right now (0 when closed); `ready_at` the next change; the counts."""

    allowed: int
    ready_at: datetime | None
    reason: str
    hour_count: int
    day_count: int
    hourly_cap: int
    daily_cap: int
    remaining: int  # ignoring the gap and the window: what the caps still allow

    def gate(self) -> Gate:
        return Gate(available=self.allowed, ready_at=self.ready_at, reason=self.reason)


def warmup_percent(config: LimitConfig, today: date) -> int:
    """Percent of the caps in force on `today` (a calendar day in the account's zone)."""
    if config.warmup_started_on is None:
        return 100
    days = max((today - config.warmup_started_on).days, 0)
    return min(100, config.warmup_start_percent + config.warmup_daily_percent * days)


def effective_caps(config: LimitConfig, now: datetime) -> tuple[int, int]:
    """(hourly, daily) after warm-up; a cap above 0 never drops below 1."""
    today = now.astimezone(ZoneInfo(config.tz)).date()
    percent = warmup_percent(config, today)

    def scaled(cap: int) -> int:
        return 0 if cap <= 0 else max(1, math.floor(cap * percent / 100))

    return scaled(config.hourly_cap), scaled(config.daily_cap)


def _count_since(times: Sequence[datetime], since: datetime, now: datetime) -> list[datetime]:
    return sorted(t for t in times if since < t <= now)


def _clock(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def label(platform: str) -> str:
    return PLATFORM_LABELS.get(platform, platform or "platform")


def evaluate(
    config: LimitConfig, state: LimitState, now: datetime, *, platform: str = ""
) -> Verdict:
    """Whether (and how many) sends may start at `now`; the first closed limit explains why."""
    name = label(platform)
    hourly, daily = effective_caps(config, now)
    in_hour = _count_since(state.sent_times, now - HOUR, now)
    in_day = _count_since(state.sent_times, now - DAY, now)
    remaining = max(min(hourly - len(in_hour), daily - len(in_day)), 0)

    def closed(ready_at: datetime | None, reason: str) -> Verdict:
        return Verdict(0, ready_at, reason, len(in_hour), len(in_day), hourly, daily, remaining)

    if state.cooldown_until is not None and state.cooldown_until > now:
        until = state.cooldown_until
        return closed(
            until, f"{name}: cooling down after a rate limit until {_clock(until, config.tz)}"
        )
    window = active_window(now, config.tz, config.active_start, config.active_end)
    if not window.is_open:
        opens = window.opens_at
        start, end = config.active_start.strftime("%H:%M"), config.active_end.strftime("%H:%M")
        return closed(
            opens,
            f"{name}: outside active hours {start}-{end} ({config.tz}), opens "
            + (_clock(opens, config.tz) if opens else "?"),
        )
    if len(in_day) >= daily:
        frees = in_day[len(in_day) - daily] + DAY if daily > 0 else None
        when = f", next slot {_clock(frees, config.tz)}" if frees else ""
        return closed(frees, f"{name}: daily cap {daily} reached{when}")
    if len(in_hour) >= hourly:
        frees = in_hour[len(in_hour) - hourly] + HOUR if hourly > 0 else None
        when = f", next slot {_clock(frees, config.tz)}" if frees else ""
        return closed(frees, f"{name}: hourly cap {hourly} reached{when}")
    if state.next_allowed_at is not None and state.next_allowed_at > now:
        nxt = state.next_allowed_at
        return closed(
            nxt, f"{name}: minimum gap between sends, next send at {_clock(nxt, config.tz)}"
        )
    # With a gap, one send at a time: the next one's time is drawn after this one is sent.
    allowed = min(remaining, 1) if config.min_gap_seconds > 0 else remaining
    return Verdict(allowed, None, "", len(in_hour), len(in_day), hourly, daily, remaining)


def draw_next_allowed(sent_at: datetime, config: LimitConfig, jitter: float) -> datetime:
    """The next allowed send: the minimum gap plus `jitter` ∈ [0, 1) of the spread."""
    low = max(config.min_gap_seconds, 0)
    high = max(config.max_gap_seconds, low)
    unit = min(max(jitter, 0.0), 1.0)
    return sent_at + timedelta(seconds=low + (high - low) * unit)


def next_cooldown(
    *,
    now: datetime,
    level: int,
    retry_after: datetime | None,
    base_seconds: float = 1800.0,
    cap_seconds: float = 86400.0,
) -> tuple[datetime, int]:
    """(cooldown_until, new level) after a limit: the service's retry time or the base,
    doubled for each repeat (level = limits since the last successful send), capped."""
    base = base_seconds
    if retry_after is not None and retry_after > now:
        base = (retry_after - now).total_seconds()
    seconds = min(base * (2 ** min(level, 32)), cap_seconds)
    return now + timedelta(seconds=seconds), level + 1
