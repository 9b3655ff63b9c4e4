"""Instagram DM limits under frozen times: 10/h, 30/day, 60-300 s, 09:00-21:00 (London)."""

from datetime import UTC, date, datetime, timedelta

from dm.accounts import DEFAULT_LIMITS
from dm.limits import LimitConfig, LimitState, draw_next_allowed, evaluate, next_cooldown

BASE = DEFAULT_LIMITS[("instagram", "dm")]
NOON = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)  # 12:00 BST


def config(**kw):
    values = {
        "hourly_cap": BASE.hourly,
        "daily_cap": BASE.daily,
        "min_gap_seconds": BASE.min_gap,
        "max_gap_seconds": BASE.max_gap,
        "tz": "Europe/London",
    }
    return LimitConfig(**{**values, **kw})


def test_defaults_are_the_contracts_figures():
    assert (BASE.hourly, BASE.daily, BASE.min_gap, BASE.max_gap) == (10, 30, 60, 300)
    assert DEFAULT_LIMITS[("instagram", "comment")].hourly == 5


def test_the_hourly_cap_of_10_holds_then_frees_a_slot():
    sends = [NOON - timedelta(minutes=59) + timedelta(minutes=5 * i) for i in range(10)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON, platform="instagram")
    assert verdict.allowed == 0
    assert verdict.reason == "Instagram: hourly cap 10 reached, next slot 12:01"
    assert evaluate(config(), LimitState(sent_times=sends), verdict.ready_at).allowed == 1


def test_the_daily_cap_of_30_is_reached_before_any_hourly_cap():
    sends = [NOON - timedelta(hours=15) + timedelta(minutes=30 * i) for i in range(30)]
    verdict = evaluate(config(), LimitState(sent_times=sends), NOON, platform="instagram")
    assert verdict.allowed == 0
    assert verdict.reason.startswith("Instagram: daily cap 30 reached")
    assert verdict.remaining == 0


def test_the_gap_is_between_one_and_five_minutes():
    assert draw_next_allowed(NOON, config(), 0) - NOON == timedelta(seconds=60)
    assert draw_next_allowed(NOON, config(), 1) - NOON == timedelta(seconds=300)
    state = LimitState(next_allowed_at=NOON + timedelta(seconds=61))
    assert evaluate(config(), state, NOON).ready_at == NOON + timedelta(seconds=61)


def test_london_active_hours_across_the_autumn_dst_change():
    # 2026-10-25: BST ends; 09:00 GMT is 09:00 UTC (it was 08:00 UTC the day before).
    before = evaluate(config(), LimitState(), datetime(2026, 10, 24, 7, 59, tzinfo=UTC))
    assert before.ready_at == datetime(2026, 10, 24, 8, 0, tzinfo=UTC)
    on_the_day = evaluate(config(), LimitState(), datetime(2026, 10, 25, 8, 30, tzinfo=UTC))
    assert on_the_day.allowed == 0
    assert on_the_day.ready_at == datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
    assert evaluate(config(), LimitState(), datetime(2026, 10, 25, 20, 59, tzinfo=UTC)).allowed == 1
    assert evaluate(config(), LimitState(), datetime(2026, 10, 25, 21, 0, tzinfo=UTC)).allowed == 0


def test_warm_up_ramps_the_daily_cap_of_a_new_account():
    fresh = config(warmup_started_on=date(2026, 6, 8))  # two days ago: 50 %
    verdict = evaluate(fresh, LimitState(), NOON)
    assert (verdict.hourly_cap, verdict.daily_cap) == (5, 15)
    slow = config(
        warmup_started_on=date(2026, 6, 10), warmup_start_percent=10, warmup_daily_percent=5
    )
    assert evaluate(slow, LimitState(), NOON).hourly_cap == 1  # never below one


def test_a_cooldown_without_a_retry_time_lasts_30_minutes():
    until, level = next_cooldown(now=NOON, level=0, retry_after=None)
    verdict = evaluate(config(), LimitState(cooldown_until=until), NOON, platform="instagram")
    assert level == 1
    assert verdict.ready_at == NOON + timedelta(minutes=30)
    assert verdict.reason == "Instagram: cooling down after a rate limit until 12:30"
    assert evaluate(config(), LimitState(cooldown_until=until), until).allowed == 1
