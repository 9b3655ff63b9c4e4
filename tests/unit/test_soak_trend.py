"""The soak's memory judgement (benchmarks.soak): every process of the system is sampled, the
django-q2 cluster under the supervisor included, and a trend that keeps rising is called out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

from benchmarks.soak import _figures, rss_by_process, slope_mb_per_hour, verdict
from harness.system import children


def _series(minutes: float, mb_per_hour: float) -> list[tuple[float, float]]:
    return [
        (t, 100 + mb_per_hour * t / 3600 + (t % 3) * 0.2) for t in range(0, int(minutes * 60), 5)
    ]


def test_a_steady_rise_over_half_an_hour_grows_and_a_flat_line_does_not() -> None:
    rising = _series(30, 60)
    slope = slope_mb_per_hour(rising)
    assert slope is not None
    assert 55 < slope < 65
    assert verdict(rising, slope) == "grows"
    flat = _series(30, 0)
    assert verdict(flat, slope_mb_per_hour(flat)) == "flat"
    # A few minutes' second half is warm-up, not a trend: not judged.
    short = _series(4, 60)
    assert verdict(short, slope_mb_per_hour(short)) == "too short"


def test_the_processes_below_a_started_one_are_sampled_even_in_a_group_of_their_own() -> None:
    """The workers' supervisor runs its cluster in a process group of its own."""
    code = (
        "import subprocess, sys, time;"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'],"
        " start_new_session=True); time.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not children(parent.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        (child,) = children(parent.pid)
        rss = rss_by_process(SimpleNamespace(procs={"workers": parent}))  # type: ignore[arg-type]
        assert set(rss) == {f"workers:{parent.pid}", f"workers.child:{child}"}
        assert all(mb > 1 for mb in rss.values())
    finally:
        for pid in children(parent.pid):
            os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()


def test_the_simulators_memory_is_reported_but_not_judged() -> None:
    """They stand for the services and keep every delivery (the duplicate count): growing
    with the work is what they are for. Safari Auto's own processes are judged."""
    rising = _series(30, 60)
    samples = {
        "simulate:10": rising,
        "simulate.child:11": rising,
        "web:12": rising,
        "workers.child:13": _series(30, 0),
    }
    tally = SimpleNamespace(
        tasks=0, statuses={}, duplicates=0, lost=0, stuck=0, blocked=0, notes=[]
    )
    figures = _figures(30, samples, tally, {})  # type: ignore[arg-type]
    verdicts = {name: row["verdict"] for name, row in figures["processes"].items()}
    assert verdicts == {
        "simulate:10": "not judged",
        "simulate.child:11": "not judged",
        "web:12": "grows",
        "workers.child:13": "flat",
    }
    assert figures["growing"] == ["web:12"]
