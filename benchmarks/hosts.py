"""`manage.py bench hosts`: how much faster two Safari hosts drain Safari work than one.

`SAFARI_HOSTS=studio,laptop`; a queue of unpinned (`safariHost: "any"`) Safari-exclusive
`check` tasks, each a fixed 200 ms job. Two ways, in one run, on the same database and broker:
- `one`: only studio's workers (`manage.py workers`) run, so every task goes to studio;
- `two`: studio's and laptop's run, so each Mac's Safari takes one task at a time.
The figure is tasks per second from the first create to the last completion; the issue's
target is two hosts at >= 1.8x the rate of one.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from benchmarks.scheduler import reset, wait_until
from harness import System
from scheduler import hosts, services
from scheduler.lifecycle import S
from scheduler.models import SchedulerState, Task, WorkerHost

HOSTS = ("studio", "laptop")
JOB_SECONDS = 0.2
NAME = "hosts bench"
TARGET_RATIO = 1.8


def run(*, stdout: Any, options: dict[str, Any]) -> dict[str, Any]:
    rounds = options.get("rounds") or (1 if options.get("quick") else 3)
    tasks = options.get("tasks") or (20 if options.get("quick") else 60)
    call_command("migrate", verbosity=0)
    figures: dict[str, Any] = {"job_seconds": JOB_SECONDS, "tasks": tasks, "rounds": rounds}
    for mode, started in (("one", HOSTS[:1]), ("two", HOSTS)):
        rates = []
        for n in range(rounds):
            stdout.write(f"{mode} host(s), round {n + 1}/{rounds}: draining {tasks} tasks…")
            rates.append(round(_drain_rate(started, tasks), 2))
            stdout.write(f"  {rates[-1]} tasks/s")
        figures[mode] = {"tasks_per_second": rates, "median": sorted(rates)[len(rates) // 2]}
    ratio = round(figures["two"]["median"] / max(figures["one"]["median"], 1e-9), 2)
    figures["ratio_two_to_one"] = ratio
    figures["targets"] = {
        "two hosts drain Safari work, x one host": {
            "value": ratio,
            "target": f">= {TARGET_RATIO}",
            "met": ratio >= TARGET_RATIO,
        }
    }
    stdout.write(f"two hosts drain Safari work at {ratio}x one host (target {TARGET_RATIO}x)")
    return figures


def _drain_rate(started: tuple[str, ...], count: int) -> float:
    reset()
    WorkerHost.objects.all().delete()
    with tempfile.TemporaryDirectory(prefix="hosts-bench-") as workdir:
        system = System(Path(workdir), "inherit", fast=False, SAFARI_HOSTS=",".join(HOSTS))
        try:
            for host in started:
                system.spawn(
                    f"workers-{host}",
                    "env",
                    f"SAFARI_HOST={host}",
                    sys.executable,
                    "manage.py",
                    "workers",
                )
            system.start_dispatcher("bench-dispatcher")
            wait_until(lambda: SchedulerState.objects.exclude(leader="").exists(), 60, "a leader")
            wait_until(lambda: _online() >= set(started), 120, "the hosts' workers online")
            begun = time.monotonic()
            for n in range(count):
                services.task_schedule(
                    type="check",
                    name=f"{NAME} {n}",
                    payload={"seconds": JOB_SECONDS},
                    requirements={"safariExclusive": True},
                    safari_host="any",
                )
            wait_until(lambda: _done() >= count, 600, "every task done")
            return count / (time.monotonic() - begun)
        finally:
            system.stop(timeout=20)
            reset()


def _online() -> set[str]:
    states = hosts.liveness(timezone.now(), list(HOSTS))
    return {host for host, live in states.items() if live.state == "online"}


def _done() -> int:
    return Task.objects.filter(name__startswith=NAME, status=S.COMPLETED).count()
