"""The scheduler bench puts the issue's targets next to its figures."""

from __future__ import annotations

from typing import Any

from benchmarks.scheduler import targets


def figures(database: str, *, queued: float, created: float) -> dict[str, Any]:
    return {
        "database": database,
        "throughput": {"ratio_already_queued": queued, "ratio": created},
        "safari_refill_gap_ms": {"p50": 80.0, "p99": 120.0},
        "idle_cpu_percent_of_one_core": 1.5,
        "lateness_ms": {"p99": 60.0},
        "planning_cycle": {
            "1000": {"cycle_ms_median": 16.0},
            "100000": {"cycle_ms_median": 18.0},
            "ratio_large_to_small": 1.1,
        },
    }


def test_the_throughput_floor_depends_on_the_database() -> None:
    sqlite = targets(figures("sqlite", queued=0.7, created=0.55))
    assert sqlite["throughput through the dispatcher and workers (x raw)"]["met"]
    assert not sqlite["throughput with task_schedule during the run (x raw)"]["met"]
    postgres = targets(figures("postgresql", queued=0.7, created=0.9))
    assert not postgres["throughput through the dispatcher and workers (x raw)"]["met"]
    assert postgres["throughput with task_schedule during the run (x raw)"]["met"]


def test_latency_idle_and_planning_targets() -> None:
    checks = targets(figures("sqlite", queued=1.0, created=1.0))
    assert all(check["met"] for check in checks.values())
    slow = figures("sqlite", queued=1.0, created=1.0)
    slow["planning_cycle"]["100000"]["cycle_ms_median"] = 60.0
    slow["safari_refill_gap_ms"]["p50"] = 101.0
    failed = [name for name, check in targets(slow).items() if not check["met"]]
    assert failed == [
        "Safari refill gap p50 / p99 (ms)",
        "planning cycle with 100,000 pending (ms, x the 1,000 cycle)",
    ]


def test_the_scale_profile_asks_for_a_faster_refill_and_less_idle_cpu() -> None:
    polling = figures("postgresql", queued=1.0, created=1.0)  # 80 / 120 ms, 1.5 % idle
    checks = targets(polling)
    assert not checks["Safari refill gap p50 / p99 (ms)"]["met"]
    assert checks["Safari refill gap p50 / p99 (ms)"]["target"] == "<= 20 / 60"
    assert checks["idle CPU (% of one core)"]["met"]
    notified = figures("postgresql", queued=1.0, created=1.0)
    notified["safari_refill_gap_ms"] = {"p50": 15.0, "p99": 55.0}
    notified["idle_cpu_percent_of_one_core"] = 2.5
    checks = targets(notified)
    assert checks["Safari refill gap p50 / p99 (ms)"]["met"]
    assert not checks["idle CPU (% of one core)"]["met"]
