"""The workers as users run them (`manage.py workers`: a supervisor and its django-q2 clusters),
with real processes: a cluster frozen by an idle worker's death is restarted and runs its work;
a whole cluster SIGKILLed mid-send has Safari busy again within 15 s, without the reaper's
leases, and nothing is sent twice."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.harness import System, free_offset, simulator_url

pytestmark = [pytest.mark.e2e]

# x86_64 and arm64 numbers of read(2): an idle django-q2 worker that holds the task queue's
# lock waits inside read() on the queue's pipe; the others wait for the lock on a futex.
READ_SYSCALLS = {"0", "63"}
FREEZE_RECOVERY_BOUND = 30.0  # FREEZE_SECONDS (3 s in the e2e settings) + a cold start
BUSY_AGAIN_BOUND = 15.0  # the target after a whole cluster dies


def _syscall(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return ""


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _create(system: System, payload: dict[str, Any]) -> str:
    answer = system.api("POST", "/api/scheduler/task", json=payload)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["taskId"])


def test_a_cluster_frozen_by_an_idle_worker_killed_is_restarted_and_runs_its_work(system):
    system.start_all()
    warm = _create(system, {"type": "check", "name": "warm-up"})
    system.wait_status(warm, {"completed"}, timeout=90)
    # Checks are ordinary work: they run on the ordinary pool's cluster.
    size = system.pool_workers("ordinary")
    workers = system.wait_for(
        lambda: len(pids := system.worker_pids(pool="ordinary")) == size and pids,
        30,
        "the ordinary pool's idle workers",
    )
    # The idle worker inside the queue's read holds its lock: killing it freezes django-q2
    # (upstream issue #23). Without /proc's syscall, kill every idle worker: one holds it.
    holders = [pid for pid in workers if _syscall(pid) in READ_SYSCALLS] or workers
    for pid in holders:
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()

    ids = [_create(system, {"type": "check", "name": f"after the kill {n}"}) for n in range(3)]
    for task_id in ids:
        done = system.wait_status(task_id, {"completed", "failed"}, timeout=FREEZE_RECOVERY_BOUND)
        assert done["status"] == "completed"
    took = time.monotonic() - killed
    print(f"frozen cluster detected and its work done {took:.1f} s after the kill")
    assert "cluster frozen" in system.log("workers")
    assert took < FREEZE_RECOVERY_BOUND


def _sent(url: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{url}/_sim/sent", timeout=5).json())


def _running_dms(system: System) -> list[dict[str, Any]]:
    running = system.api("GET", "/api/scheduler/running").json().get("running", [])
    return [task for task in running if task["type"] == "dm"]


def test_a_whole_cluster_killed_mid_send_has_safari_busy_again_within_15_s(tmp_path):
    offset = free_offset(["instagram_dm", "tiktok_dm", "twitter_dm"])
    url = simulator_url("instagram_dm", offset)
    env = {
        **{
            f"{p.upper()}_DM_URL": simulator_url(f"{p}_dm", offset)
            for p in ("instagram", "tiktok", "twitter")
        },
        "DM_ACTIVE_START": "00:00",
        "DM_ACTIVE_END": "00:00",
        "DM_LIMITS": "instagram:dm=100000/100000/0-1",
        "DM_SEND_MAX_RETRIES": "8",
        # The reaper's own leases as in production: a recovery within 15 s is the supervisor's.
        "SCHEDULER_HEARTBEAT_TIMEOUT_SECONDS": "30",
        "SCHEDULER_CLAIM_LEASE_SECONDS": "120",
        "SCHEDULER_HOST_BEAT_SECONDS": "2",  # the supervisor's production beat
    }
    system = System(tmp_path, environ=env)
    try:
        system.start_all()
        system.start_simulators(
            ["instagram_dm", "tiktok_dm", "twitter_dm"], offset, "--reply-probability", "0"
        )
        requests.post(f"{url}/_sim/reset", timeout=5)
        # Instagram's real send (19 s) 5x faster: about 4 s, a kill lands inside it.
        requests.post(
            f"{url}/_sim/config",
            json={"hourly_limit": 10**6, "daily_limit": 10**6, "duration_scale": 5},
            timeout=5,
        )
        ids = [
            str(
                system.api(
                    "POST",
                    "/api/dm/send",
                    json={"platform": "instagram", "username": f"c{n}", "text": f"cluster {n}"},
                ).json()["taskId"]
            )
            for n in range(4)
        ]
        victim = system.wait_for(
            lambda: next(iter(_running_dms(system)), None), 90, "a DM to be sending"
        )
        time.sleep(1.0)  # well inside the send
        cluster = system.cluster_pids()
        os.killpg(cluster[0], signal.SIGKILL)  # its main process and every worker
        killed = time.monotonic()

        def busy_again() -> dict[str, Any] | None:
            for task in _running_dms(system):
                if task["id"] != victim["id"] or task["attempt"] > victim["attempt"]:
                    return task
            return None

        again = system.wait_for(busy_again, 60, "Safari busy again")
        took = time.monotonic() - killed
        print(f"Safari busy again {took:.1f} s after the whole cluster was SIGKILLed")

        ends = {"completed", "failed", "cancelled", "blocked"}
        system.wait_for(
            lambda: all(system.task(i)["status"] in ends for i in ids), 180, "the sends to end"
        )
        delivered = Counter(d["username"] for d in _sent(url))
        for task_id in ids:  # a send whose outcome no read could prove: a human decides
            task = system.task(task_id)
            if task["status"] == "blocked":
                decision = "sent" if delivered[task["payload"]["username"]] else "resend"
                system.api("POST", f"/api/dm/sends/{task_id}/decide", json={"decision": decision})
        system.wait_for(
            lambda: all(system.task(i)["status"] in ends - {"blocked"} for i in ids),
            180,
            "every send to be final",
        )
        delivered = Counter(d["username"] for d in _sent(url))
        statuses = [system.task(i)["status"] for i in ids]
        log = system.log("workers")
    finally:
        system.stop()
    assert "cluster exited with code -9" in log
    assert "interrupted tasks recovered" in log
    assert again is not None
    assert took < BUSY_AGAIN_BOUND, took
    assert statuses == ["completed"] * 4
    assert sorted(delivered) == [f"c{n}" for n in range(4)]
    assert all(count == 1 for count in delivered.values()), delivered


def test_a_cluster_dies_with_its_supervisor_and_a_new_one_takes_the_host_at_once(system):
    """A supervisor SIGKILLed must not leave its cluster running (a new supervisor recovers the
    host's work, which an orphaned cluster could still be doing), and the supervisor started
    next on the same machine need not wait out the host lease."""
    system.setup()
    system.start_workers()
    first = system.wait_for(
        lambda: (
            len(pids := system.cluster_pids() + system.cluster_pids(pool="ordinary")) > 4 and pids
        ),
        60,
        "the first clusters",
    )
    os.kill(system.procs["workers"].pid, signal.SIGKILL)
    system.procs["workers"].wait(timeout=10)
    # Within a few seconds: the cluster reads end-of-file on its lifeline and kills its group.
    system.wait_for(
        lambda: not any(_alive(pid) for pid in first) or None, 10, "the orphaned cluster gone"
    )

    system.start_workers()
    system.wait_for(lambda: system.cluster_pids(), 30, "a new cluster")
    log = system.log("workers")
    assert "already has a running worker cluster" not in log
    assert "incarnation 2" in log
