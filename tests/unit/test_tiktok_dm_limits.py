"""TikTok DM limits under frozen times: 10/h, 50/day, 120-300 s, 09:00-21:00 (Berlin)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from dm.accounts import DEFAULT_LIMITS, parse_limit_overrides
from dm.limits import LimitConfig, LimitState, draw_next_allowed, evaluate, next_cooldown

BASE = DEFAULT_LIMITS[("tiktok", "dm")]
NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 in Berlin


def config(**kw):
    values = {
        "hourly_cap": BASE.hourly,
        "daily_cap": BASE.daily,
        "min_gap_seconds": BASE.min_gap,
        "max_gap_seconds": BASE.max_gap,
        "tz": "Europe/Berlin",
    }
    return LimitConfig(**{**values, **kw})


def test_defaults_are_the_contracts_figures():
    assert (BASE.hourly, BASE.daily, BASE.min_gap, BASE.max_gap) == (10, 50, 120, 300)


def test_the_eleventh_dm_in_an_hour_waits_and_names_the_local_slot():
    sends = [NOON - timedelta(minutes=50) + timedelta(minutes=4 * i) for i in range(10)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON, platform="tiktok")
    assert verdict.allowed == 0
    assert verdict.reason == "TikTok: hourly cap 10 reached, next slot 12:10"
    assert verdict.ready_at == sends[0] + timedelta(hours=1)


def test_sends_older_than_an_hour_no_longer_count_against_the_hourly_cap():
    sends = [NOON - timedelta(minutes=61 + i) for i in range(10)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON)
    assert (verdict.allowed, verdict.hour_count, verdict.day_count) == (1, 0, 10)


def test_the_daily_cap_is_50_over_a_rolling_day():
    sends = [NOON - timedelta(hours=20) + timedelta(minutes=20 * i) for i in range(50)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON, platform="tiktok")
    assert verdict.allowed == 0
    assert verdict.reason.startswith("TikTok: daily cap 50 reached")
    assert verdict.ready_at == sends[0] + timedelta(hours=24)


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.75, 0.9999])
def test_the_drawn_gap_stays_between_two_and_five_minutes(jitter):
    gap = draw_next_allowed(NOON, config(), jitter) - NOON
    assert timedelta(seconds=120) <= gap <= timedelta(seconds=300)


def test_the_window_opens_at_nine_berlin_time_on_the_spring_dst_day():
    # 2026-03-29: Berlin jumps from CET to CEST; 09:00 CEST is 07:00 UTC (08:00 UTC the day before).
    early = evaluate(config(), LimitState(), datetime(2026, 3, 29, 6, 30, tzinfo=UTC))
    assert early.allowed == 0
    assert early.ready_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert evaluate(config(), LimitState(), datetime(2026, 3, 29, 7, 0, tzinfo=UTC)).allowed == 1
    before = evaluate(config(), LimitState(), datetime(2026, 3, 28, 7, 30, tzinfo=UTC))
    assert before.ready_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)


def test_a_custom_window_9_to_17_closes_at_17_local():
    from datetime import time

    window = config(active_start=time(9), active_end=time(17))
    assert evaluate(window, LimitState(), datetime(2026, 6, 10, 14, 59, tzinfo=UTC)).allowed == 1
    closed = evaluate(window, LimitState(), datetime(2026, 6, 10, 15, 0, tzinfo=UTC))
    assert closed.allowed == 0
    assert "09:00-17:00" in closed.reason


def test_warm_up_is_counted_in_local_calendar_days():
    fresh = config(warmup_started_on=date(2026, 6, 10))
    assert evaluate(fresh, LimitState(), NOON).hourly_cap == 3
    # 23:30 UTC on the 10th is already the 11th in Berlin: 40 %.
    assert evaluate(fresh, LimitState(), datetime(2026, 6, 10, 23, 30, tzinfo=UTC)).hourly_cap == 4
    assert evaluate(fresh, LimitState(), NOON + timedelta(days=7)).daily_cap == 50


def test_a_repeated_limit_doubles_the_cooldown_from_the_service_retry_time():
    retry = NOON + timedelta(minutes=10)
    first, level = next_cooldown(now=NOON, level=0, retry_after=retry)
    second, level = next_cooldown(now=NOON, level=level, retry_after=retry)
    assert first - NOON == timedelta(minutes=10)
    assert second - NOON == timedelta(minutes=20)
    capped, _ = next_cooldown(now=NOON, level=20, retry_after=retry, cap_seconds=3600)
    assert capped - NOON == timedelta(hours=1)


def test_a_malformed_override_is_refused():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured):
        parse_limit_overrides(["tiktok:dm=ten"])
