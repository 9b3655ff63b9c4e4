"""The simulated-clock bench in small: limits and at-most-once hold under faults."""

import pytest

from benchmarks.dm import limit_violations, simulated_clock

pytestmark = pytest.mark.django_db(transaction=True)


def test_dms_under_a_simulated_clock_break_no_limit_and_never_duplicate():
    figures = simulated_clock(
        dms=30, faults={"status_429": 0.05, "unverified": 0.1, "crash_after_delivery": 0.1}
    )
    assert figures["statuses"] == {"completed": 30}
    assert figures["limit_violations"] == 0
    assert figures["duplicate_deliveries"] == 0
    assert figures["lost"] == 0
    assert figures["simulated_days"] >= 0.02  # the gaps and caps really spread them out


def test_the_violation_counter_catches_a_broken_gap_and_the_night():
    from datetime import UTC, datetime, timedelta

    noon = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 12:00 in Berlin
    times = [noon, noon + timedelta(seconds=10), noon.replace(hour=22)]
    broken = limit_violations("twitter", times)
    assert broken["gap"] == 1
    assert broken["active_hours"] == 1
