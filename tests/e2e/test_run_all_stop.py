"""`bin/run-all`, started for real in demo mode (its own SQLite file, ports and simulators) and
stopped with SIGTERM while its workers are busy: every process it started, down to django-q2's
workers in their own process group, is gone within the bound (the supervisor's grace + 5 s,
when run-all kills what is left, and a margin for the kills on a busy machine)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.system import descendants
from tests.e2e.harness import ROOT, System, free_offset

pytestmark = [pytest.mark.e2e]

GRACE = 5  # SCHEDULER_STOP_GRACE_SECONDS in the e2e settings
# run-all kills whatever is left after the grace + 5 s (its default); on a starved machine the
# kills and the reaping take a few seconds more.
BOUND = GRACE + 5 + 5


def _running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie nobody reaped yet runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stopping_run_all_under_load_leaves_no_process_behind(tmp_path):
    offset = free_offset()
    # Both workers busy with checks: no worker kept back for Safari (the reserve has its tests).
    system = System(
        tmp_path,
        DEMO="1",
        SIM_PORT_OFFSET=str(offset),
        SCHEDULER_STOP_GRACE_SECONDS=str(GRACE),
        SCHEDULER_RESERVED_WORKERS="0",
    )
    system.env["WEB_PORT"] = str(system.port)
    try:
        system.setup()
        system.manage("collectstatic", "--noinput", "-v", "0")
        run_all = system.spawn("run-all", str(ROOT / "bin" / "run-all"))
        system.wait_for(system._health_ok, 90, "run-all's web server to answer")
        ids = [
            system.api(
                "POST",
                "/api/scheduler/task",
                json={"type": "check", "name": f"load {n}", "payload": {"seconds": 8}},
            ).json()["taskId"]
            for n in range(12)
        ]
        system.wait_for(
            lambda: sum(system.task(i)["status"] == "running" for i in ids) >= 2,
            90,
            "the workers to be busy",
        )
        everyone = descendants(run_all.pid)
        assert len(everyone) >= 10, everyone  # web, simulators, dispatcher, supervisor, cluster

        run_all.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        try:
            run_all.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"run-all still running {BOUND} s after SIGTERM:\n" + system.log("run-all")[-4000:]
            )
        system.wait_for(
            lambda: not any(_running(pid) for pid in everyone),
            max(BOUND - (time.monotonic() - stopped), 0.1),
            "every process run-all started to end",
        )
        took = time.monotonic() - stopped
        print(f"run-all stopped under load in {took:.1f} s, {len(everyone)} processes")
        log = system.log("run-all")
    finally:
        system.stop()
    assert took < BOUND, took
    assert "[workers] host local: clusters stopped" in log
    assert log.splitlines()[-1].endswith(" stopped")
