"""X/Twitter DM limits under frozen times: 15/h, 100/day, 90-240 s, 09:00-21:00."""

from datetime import UTC, date, datetime, time, timedelta

from dm.accounts import DEFAULT_LIMITS, parse_limit_overrides
from dm.limits import LimitConfig, LimitState, draw_next_allowed, evaluate, next_cooldown

BASE = DEFAULT_LIMITS[("twitter", "dm")]
NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def config(**kw):
    values = {
        "hourly_cap": BASE.hourly,
        "daily_cap": BASE.daily,
        "min_gap_seconds": BASE.min_gap,
        "max_gap_seconds": BASE.max_gap,
        "tz": "UTC",
    }
    return LimitConfig(**{**values, **kw})


def test_defaults_are_the_contracts_figures():
    assert (BASE.hourly, BASE.daily, BASE.min_gap, BASE.max_gap) == (15, 100, 90, 240)


def test_the_sixteenth_dm_in_an_hour_waits_with_the_next_slot_named():
    sends = [NOON - timedelta(minutes=55) + timedelta(minutes=3 * i) for i in range(15)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON, platform="twitter")
    assert verdict.allowed == 0
    assert verdict.ready_at == sends[0] + timedelta(hours=1)
    assert verdict.reason == "X: hourly cap 15 reached, next slot 12:05"
    later = evaluate(config(), LimitState(sent_times=sends), NOON + timedelta(minutes=5, seconds=1))
    assert later.allowed == 1


def test_the_daily_cap_counts_a_rolling_24_hours():
    # 100 sends spread over the last 23 hours: 4-5 an hour, never the hourly cap.
    sends = [NOON - timedelta(hours=23) + timedelta(minutes=13.8 * i) for i in range(100)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON, platform="twitter")
    assert verdict.allowed == 0
    assert verdict.reason.startswith("X: daily cap 100 reached")
    assert verdict.ready_at == sends[0] + timedelta(hours=24)
    assert evaluate(config(), LimitState(sent_times=sends), verdict.ready_at).allowed == 1


def test_the_minimum_gap_holds_until_the_drawn_next_allowed_time():
    last = NOON - timedelta(seconds=30)
    nxt = draw_next_allowed(last, config(), 0.5)
    assert nxt == last + timedelta(seconds=165)
    state = LimitState(sent_times=[last], next_allowed_at=nxt)
    waiting = evaluate(config(), state, NOON, platform="twitter")
    assert waiting.allowed == 0
    assert waiting.ready_at == nxt
    assert "minimum gap" in waiting.reason
    assert evaluate(config(), state, nxt).allowed == 1
    assert draw_next_allowed(last, config(), 0.0) == last + timedelta(seconds=90)
    assert draw_next_allowed(last, config(), 0.999999) <= last + timedelta(seconds=240)


def test_only_one_send_at_a_time_while_a_gap_applies():
    assert evaluate(config(), LimitState(), NOON).allowed == 1
    assert evaluate(config(min_gap_seconds=0, max_gap_seconds=0), LimitState(), NOON).allowed == 15


def test_active_hours_follow_new_york_across_the_spring_dst_change():
    ny = config(tz="America/New_York")
    # 2026-03-08: clocks jump 02:00 -> 03:00; 09:00 EDT is 13:00 UTC (it was 14:00 UTC before).
    before = datetime(2026, 3, 8, 12, 30, tzinfo=UTC)  # 08:30 EDT
    verdict = evaluate(ny, LimitState(), before, platform="twitter")
    assert verdict.allowed == 0
    assert verdict.ready_at == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    assert "outside active hours 09:00-21:00 (America/New_York), opens 09:00" in verdict.reason
    assert evaluate(ny, LimitState(), datetime(2026, 3, 8, 13, 0, tzinfo=UTC)).allowed == 1
    # The day before, 09:00 EST was 14:00 UTC.
    day_before = evaluate(ny, LimitState(), datetime(2026, 3, 7, 13, 30, tzinfo=UTC))
    assert day_before.ready_at == datetime(2026, 3, 7, 14, 0, tzinfo=UTC)


def test_active_hours_close_at_21_local_on_the_autumn_change():
    ny = config(tz="America/New_York")
    # 2026-11-01: back to EST; 21:00 EST is 02:00 UTC next day.
    assert evaluate(ny, LimitState(), datetime(2026, 11, 2, 1, 59, tzinfo=UTC)).allowed == 1
    closed = evaluate(ny, LimitState(), datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
    assert closed.allowed == 0
    assert closed.ready_at == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def test_warm_up_starts_at_30_percent_and_gains_10_a_day():
    fresh = config(warmup_started_on=date(2026, 6, 10), min_gap_seconds=0, max_gap_seconds=0)
    assert evaluate(fresh, LimitState(), NOON).hourly_cap == 4  # 30 % of 15
    assert evaluate(fresh, LimitState(), NOON).daily_cap == 30
    day3 = NOON + timedelta(days=3)
    assert (
        evaluate(fresh, LimitState(), day3).hourly_cap,
        evaluate(fresh, LimitState(), day3).daily_cap,
    ) == (9, 60)
    assert evaluate(fresh, LimitState(), NOON + timedelta(days=30)).hourly_cap == 15
    sends = [NOON - timedelta(minutes=m) for m in (1, 2, 3, 4)]
    full = evaluate(fresh, LimitState(sent_times=sends), NOON, platform="twitter")
    assert full.allowed == 0
    assert full.reason.startswith("X: hourly cap 4 reached")


def test_cooldown_uses_the_retry_time_then_doubles_up_to_a_day():
    until, level = next_cooldown(now=NOON, level=0, retry_after=NOON + timedelta(seconds=90))
    assert (until, level) == (NOON + timedelta(seconds=90), 1)
    until, level = next_cooldown(now=NOON, level=0, retry_after=None)
    assert until == NOON + timedelta(minutes=30)
    until, level = next_cooldown(now=NOON, level=level, retry_after=None)
    assert (until, level) == (NOON + timedelta(minutes=60), 2)
    until, _ = next_cooldown(now=NOON, level=9, retry_after=None)
    assert until == NOON + timedelta(hours=24)
    state = LimitState(cooldown_until=NOON + timedelta(minutes=30))
    verdict = evaluate(config(), state, NOON, platform="twitter")
    assert verdict.allowed == 0
    assert verdict.reason == "X: cooling down after a rate limit until 12:30"


def test_limit_overrides_are_read_from_settings_entries():
    table = parse_limit_overrides(["twitter:dm=5/20/10-20"])
    assert table[("twitter", "dm")].hourly == 5
    assert config(active_start=time(9), active_end=time(21)).active_end == time(21)
