"""The fault runner: inject one fault `times` times into a running system, then count.

A fault is a `Fault` subclass (see `faults.py`): `start` brings its system up, `inject` does
one round (make the work, hit it at the right moment, return how long recovery took, or None
when it did not recover within the bound), `settle` waits for every task to end, plays the
human for those that wait for one, and counts at the simulators. `run_fault` drives it and
returns a `FaultReport`; `table` prints reports as the suite's table.

Recovery is "kill -> the next task starts, or the hit task ends": each fault says which one it
waits for (`wait_recovered`). Stuck means a task that neither ended nor waits with a reason
when the settle bound passed; lost means work the simulators never saw for a task we were
asked to do; duplicates are deliveries beyond the first, counted by the simulators.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from benchmarks.figures import pct
from harness import System
from harness.system import descendants
from scheduler.planning import MAIN_POOL

FINAL = {"completed", "failed", "cancelled"}


@dataclass
class Tally:
    """What the simulators and the task rows say once the fault's work has settled."""

    tasks: int = 0
    duplicates: int = 0
    lost: int = 0
    stuck: int = 0
    blocked: int = 0  # waited for a human with a reason (then decided, as a human would)
    statuses: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class FaultReport:
    name: str
    runs: int
    recoveries: list[float]
    unrecovered: int
    tally: Tally
    seconds: float

    @property
    def ok(self) -> bool:
        t = self.tally
        return not (t.duplicates or t.lost or t.stuck or self.unrecovered) and self.runs > 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": self.name,
            "runs": self.runs,
            "duplicates": self.tally.duplicates,
            "lost": self.tally.lost,
            "stuck": self.tally.stuck,
            "unrecovered": self.unrecovered,
            "blocked_then_decided": self.tally.blocked,
            "tasks": self.tally.tasks,
            "statuses": self.tally.statuses,
            "recovery_p50_s": round(pct(self.recoveries, 50), 2) if self.recoveries else None,
            "recovery_max_s": round(max(self.recoveries), 2) if self.recoveries else None,
            "seconds": round(self.seconds, 1),
            "ok": self.ok,
            "notes": self.tally.notes,
        }


class Fault(ABC):
    """One kind of fault. Subclasses set `name` and `about` and implement the three steps."""

    name = ""
    about = ""
    ci = True  # runs in CI's smoke test (False: needs something not on this branch yet)

    def __init__(self, tmp: Path, *, seed: int = 1) -> None:
        self.tmp = tmp
        self.rng = random.Random(seed)
        self.system: System | None = None

    @property
    def sys(self) -> System:
        if self.system is None:
            raise RuntimeError(f"{self.name}: start() first")
        return self.system

    @abstractmethod
    def start(self) -> None:
        """Start the system and the work this fault needs."""

    @abstractmethod
    def inject(self, number: int) -> float | None:
        """Inject the fault once: the recovery time in seconds, or None if it did not recover."""

    @abstractmethod
    def settle(self) -> Tally:
        """Let the work finish, and count it at the simulators."""

    def stop(self) -> None:
        if self.system is not None:
            self.system.stop()


def run_fault(fault: Fault, times: int, *, log: Callable[[str], None] = print) -> FaultReport:
    started = time.monotonic()
    recoveries: list[float] = []
    unrecovered = runs = 0
    try:
        fault.start()
        for number in range(times):
            took = fault.inject(number)
            runs += 1
            if took is None:
                unrecovered += 1
                log(f"  {fault.name} #{number + 1}: NOT recovered")
            else:
                recoveries.append(took)
                log(f"  {fault.name} #{number + 1}: recovered in {took:.2f} s")
        tally = fault.settle()
    finally:
        fault.stop()
    return FaultReport(fault.name, runs, recoveries, unrecovered, tally, time.monotonic() - started)


def table(reports: list[FaultReport]) -> str:
    head = (
        f"{'fault':<26} {'runs':>4} {'dup':>4} {'lost':>4} {'stuck':>5} {'unrec':>5} "
        f"{'blocked':>7} {'rec p50 s':>9} {'rec max s':>9}  result"
    )
    lines = [head, "-" * len(head)]
    for report in reports:
        row = report.as_dict()
        p50 = "-" if row["recovery_p50_s"] is None else f"{row['recovery_p50_s']:.2f}"
        top = "-" if row["recovery_max_s"] is None else f"{row['recovery_max_s']:.2f}"
        lines.append(
            f"{report.name:<26} {report.runs:>4} {row['duplicates']:>4} {row['lost']:>4} "
            f"{row['stuck']:>5} {row['unrecovered']:>5} {row['blocked_then_decided']:>7} "
            f"{p50:>9} {top:>9}  {'ok' if report.ok else 'FAIL'}"
        )
    return "\n".join(lines)


# --- shared moves ----------------------------------------------------------------------------


def sigkill(pid: int) -> bool:
    """SIGKILL one process; False if it was already gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def sigkill_group(system: System, name: str) -> None:
    """SIGKILL a whole process of the system (its group: qcluster's workers die with it)."""
    proc = system.procs[name]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def sigkill_tree(system: System, name: str) -> list[int]:
    """SIGKILL the process `name` and every process below it, however many process groups
    they lead (a workers supervisor runs each of its django-q2 clusters in a group of its
    own), as a machine that loses power: nobody signs off. The pids killed."""
    proc = system.procs[name]
    tree = [proc.pid, *descendants(proc.pid)]
    groups = set()
    for pid in tree:
        with contextlib.suppress(OSError):
            groups.add(os.getpgid(pid))
    killed = [pid for pid in tree if sigkill(pid)]  # the supervisor first: it restarts nothing
    for group in groups:  # a worker forked since the listing is in its cluster's group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    proc.wait(timeout=10)
    return killed


def running_pid(system: System, task_type: str, task_id: str | None = None) -> tuple[str, int]:
    """(task id, worker pid) of a running task of `task_type` (or that one task): the runner
    notes its worker in the result as it starts it (`result["pid"]`); ("", 0) when none runs."""
    running = system.api("GET", "/api/scheduler/running").json().get("running", [])
    for task in running:
        if task["type"] != task_type or (task_id is not None and str(task["id"]) != task_id):
            continue
        if task.get("status", "running") != "running":
            continue
        pid = (task.get("result") or {}).get("pid")
        if pid:
            return str(task["id"]), int(pid)
    return "", 0


READY = re.compile(r"ready for work at (\d+)")


def worker_pids(system: System, name: str = "workers", pool: str = MAIN_POOL) -> list[int]:
    """The live worker processes of the supervisor `name`'s cluster of `pool`: the processes
    of that cluster that said "ready for work at PID" (django-q2 at INFO: `Q_LOG_LEVEL=INFO`).
    Both pools log to the supervisor's one file; the process tree tells them apart. A worker
    django-q2 started again after a death counts, its monitor and pusher never do."""
    ready = {int(pid) for pid in READY.findall(system.log(name))}
    return [pid for pid in system.cluster_pids(name, pool) if pid in ready]


def tab_busy(*urls: str) -> Callable[[], bool]:
    """Whether any of the DM or comment simulators at `urls` is inside a send or post (its
    Safari tab busy): what `kill_worker_mid_call` waits for (a task that started may still
    be before its call: the runner names its worker at the start)."""

    def busy() -> bool:
        for url in urls:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/_sim/tab", timeout=5).json().get("busy"):
                    return True
        return False

    return busy


def kill_worker_mid_call(
    system: System,
    task_type: str,
    *,
    rng: random.Random,
    inside: tuple[float, float],
    task_id: str | None = None,
    timeout: float = 60,
    busy: Callable[[], bool] | None = None,
) -> tuple[str, float] | None:
    """SIGKILL the worker running a `task_type` task (or `task_id`) at a random moment
    `inside` seconds after it is seen running (and, with `busy`, once `busy()` says the
    service is inside the call). Returns (task id, monotonic time of the kill), or None if no
    such task ran within `timeout` or it ended before the kill."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        target, pid = running_pid(system, task_type, task_id)
        if not pid or (busy is not None and not busy()):
            time.sleep(0.02)
            continue
        time.sleep(rng.uniform(*inside))
        # Still inside the call, checked last: a worker killed once its task ended would die
        # idle, in django-q2's queue read, and freeze the cluster (the idle-worker fault).
        still = (busy is None or busy()) and system.task(target)["status"] == "running"
        if not still:
            if task_id is not None:
                return None
            continue
        if sigkill(pid):
            return target, time.monotonic()
    return None


def ended_before(system: System, task_id: str, moment: float) -> bool:
    """The task had ended before the monotonic `moment` (a kill then hit an idle worker)."""
    done = system.task(task_id).get("completedAt")
    if not done:
        return False
    return _epoch(str(done)) < time.time() - (time.monotonic() - moment)


def wait_recovered(
    system: System,
    task_id: str,
    killed_at: float,
    *,
    timeout: float,
    next_start: bool = True,
) -> float | None:
    """Seconds from the kill until the task runs again (a later start; with `next_start`)
    or ends or waits for a human; None if neither happened within `timeout`."""
    wall_kill = time.time() - (time.monotonic() - killed_at)
    deadline = killed_at + timeout
    while time.monotonic() < deadline:
        task = system.task(task_id)
        started = _epoch(task["startedAt"]) if task.get("startedAt") else 0.0
        if next_start and started > wall_kill:
            return max(started - wall_kill, 0.0)
        if task["status"] in FINAL | {"blocked"}:
            return time.monotonic() - killed_at
        time.sleep(0.05)
    return None


def wait_settled(system: System, ids: list[str], timeout: float) -> list[dict[str, Any]]:
    """Wait (up to `timeout`) until every task ended or waits for a human; their rows."""
    deadline = time.monotonic() + timeout
    tasks = [system.task(i) for i in ids]
    while time.monotonic() < deadline:
        tasks = [system.task(i) for i in ids]
        if all(t["status"] in FINAL | {"blocked"} for t in tasks):
            break
        time.sleep(0.3)
    return tasks


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
