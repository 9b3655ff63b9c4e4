"""Refresh estimation and credit maths: pure functions, explicit (frozen) times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sora import estimation as est
from sora.estimation import Reading

T0 = datetime(2025, 3, 10, 4, 10, tzinfo=UTC)


def test_minus_one_is_unknown_never_zero() -> None:
    reading = est.parse_usage(
        {"videos_generated_today": -1, "daily_limit": -1, "remaining": -1, "plan": "x"}
    )
    assert reading.remaining is None
    assert reading.total is None
    assert est.available(reading.remaining, reserved=2) is None


def test_free_paid_and_refresh_time_are_read_when_given() -> None:
    reading = est.parse_usage(
        {"remaining": 7, "free": 4, "paid": 3, "refreshes_at": "2025-03-11T04:10:00Z"}
    )
    assert (reading.free, reading.paid, reading.total) == (4, 3, 7)
    assert reading.refreshes_at == datetime(2025, 3, 11, 4, 10, tzinfo=UTC)


def test_without_free_and_paid_remaining_is_the_total() -> None:
    reading = est.parse_usage({"remaining": 9, "refreshes_at": "not a date"})
    assert (reading.free, reading.paid, reading.total) == (None, None, 9)
    assert reading.refreshes_at is None


def test_a_jump_upward_is_a_refresh_and_a_purchase_of_paid_is_not() -> None:
    assert est.is_refresh(Reading(remaining=0), Reading(remaining=5))
    assert not est.is_refresh(Reading(remaining=5), Reading(remaining=4))
    assert not est.is_refresh(None, Reading(remaining=5))
    bought = est.is_refresh(Reading(remaining=1, free=1, paid=0), Reading(5, free=1, paid=4))
    assert not bought
    assert est.is_refresh(Reading(remaining=1, free=0, paid=1), Reading(6, free=5, paid=1))
    assert not est.is_refresh(Reading(remaining=None), Reading(remaining=5))


def test_the_refresh_moment_is_the_earlier_hint_when_it_falls_between_readings() -> None:
    before, after = T0 - timedelta(minutes=30), T0 + timedelta(minutes=30)
    assert est.refresh_moment(before, after, T0) == T0
    assert est.refresh_moment(before, after, None) == after
    assert est.refresh_moment(before, after, T0 + timedelta(hours=5)) == after


def test_the_interval_is_24h_until_history_then_the_median_gap() -> None:
    assert est.typical_interval([]) == timedelta(hours=24)
    assert est.typical_interval([T0]) == timedelta(hours=24)
    history = [
        T0,
        T0 + timedelta(hours=20),
        T0 + timedelta(hours=40, minutes=30),
        T0 + timedelta(hours=60, minutes=30),
    ]
    assert est.typical_interval(history) == timedelta(hours=20)
    # Gaps under an hour are noise, not an interval.
    assert est.typical_interval([T0, T0 + timedelta(minutes=5)]) == timedelta(hours=24)


def test_the_estimate_is_the_service_hint_else_last_refresh_plus_interval() -> None:
    now = T0 + timedelta(hours=3)
    hint = T0 + timedelta(hours=7)
    assert est.estimate_next_refresh(refreshes=[T0], hint=hint, now=now) == hint
    assert est.estimate_next_refresh(refreshes=[T0], hint=None, now=now) == T0 + timedelta(hours=24)
    assert est.estimate_next_refresh(refreshes=[], hint=None, now=now) is None


def test_missed_refreshes_roll_the_estimate_forward_but_an_overdue_one_stays() -> None:
    three_days_later = T0 + timedelta(days=3, hours=2)
    estimate = est.estimate_next_refresh(refreshes=[T0], hint=None, now=three_days_later)
    assert estimate == T0 + timedelta(days=3)  # overdue by 2 h: still the one we wait for


def test_next_check_is_at_the_estimate_hourly_otherwise_and_soon_when_unknown() -> None:
    now = T0
    soon = T0 + timedelta(hours=4)
    assert est.next_check_at(now=now, estimate=soon, known=True) == soon + est.REFRESH_GRACE
    assert est.next_check_at(now=now, estimate=None, known=True) == now + timedelta(hours=1)
    overdue = T0 - timedelta(minutes=5)
    assert est.next_check_at(now=now, estimate=overdue, known=True) == now + timedelta(hours=1)
    assert est.next_check_at(now=now, estimate=soon, known=False) == now + est.UNKNOWN_RECHECK


def test_time_until_reads_like_a_human() -> None:
    assert est.time_until(T0, T0 + timedelta(hours=4, minutes=23, seconds=40)) == "4h 23m"
    assert est.time_until(T0, T0 + timedelta(minutes=7)) == "7m 0s"
    assert est.time_until(T0, T0 + timedelta(days=1, hours=2)) == "1d 2h"
    assert est.time_until(T0, T0 - timedelta(minutes=7)) == "0s"
    assert est.time_until(T0, None) is None


def test_available_subtracts_the_reservations_the_reading_did_not_see() -> None:
    assert est.available(5, reserved=3) == 2
    assert est.available(1, reserved=3) == -2


def test_the_wait_reason_names_need_free_and_local_refresh_time() -> None:
    reason = est.credits_reason(needs=3, free=1, estimate=T0, tz=UTC)
    assert reason == "needs 3 credits, 1 free, refresh ≈ 04:10"
    paris = est.credits_reason(needs=3, free=-1, estimate=T0, tz=ZoneInfo("Europe/Paris"))
    assert paris == "needs 3 credits, 0 free, refresh ≈ 05:10"
    assert est.credits_reason(needs=None, free=0, estimate=None) == (
        "needs more credits, 0 free, refresh time unknown"
    )
    assert est.credits_reason(needs=3, free=None, estimate=T0) == "credits unknown — checking"


def test_the_estimate_crosses_a_dst_change_in_wall_clock_terms() -> None:
    # Paris springs forward on 2025-03-30: a 24 h interval lands an hour later on the clock.
    paris = ZoneInfo("Europe/Paris")
    last = datetime(2025, 3, 29, 4, 10, tzinfo=paris)
    estimate = est.estimate_next_refresh(refreshes=[last], hint=None, now=last)
    assert estimate is not None
    assert estimate.astimezone(paris).hour == 5
    assert estimate - last == timedelta(hours=24)


def test_only_the_real_services_no_data_yet_answer_is_awaiting_a_first_command() -> None:
    from sora.estimation import awaiting_first_command

    assert awaiting_first_command({"remaining": -1, "error": "No usage data until a command runs"})
    assert not awaiting_first_command({"remaining": -1, "plan": "unknown"})  # no tab
    assert not awaiting_first_command({"error": "no Sora tab open"})  # a 503
    assert not awaiting_first_command({"remaining": 4})
