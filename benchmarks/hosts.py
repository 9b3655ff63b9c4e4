"""`manage.py bench hosts`: how much faster two Safari hosts drain Safari work than one.

`SAFARI_HOSTS=studio,laptop`; a queue of unpinned (`safariHost: "any"`) Safari-exclusive
`check` tasks, each a fixed 200 ms job. Two ways, in one run, on the same database and broker:
- `one`: only studio's workers (`manage.py workers`) run, so every task goes to studio;
- `two`: studio's and laptop's run, so each Mac's Safari takes one task at a time.
Rounds alternate (one, two, one, two, ...) so a machine that gets busier or quieter during the
run moves both alike. The rate is tasks per second from the first task's creation to the last
completion, both read from the rows (so how often the bench looks does not matter); the
issue's target is two hosts at >= 1.8x the rate of one.

Where the time goes, per task on its host, from the event rows (`stages_ms`):
- `first_claim`: the first task's creation to each host's first `task.claimed`;
- `finish_to_claim`: the previous task's `task.completed` to this one's `task.claimed` (the
  dispatcher waking, up to the `now` of the cycle that claimed it);
- `claim_to_start`: `task.claimed` to `task.started` (the rest of that cycle, the package
  through the broker, a worker picking it up and starting it);
- `job`: `task.started` to `task.completed` (the 200 ms job, the heartbeat, the end).
And the CPU each task cost (`cpu_ms_per_task`): the system's processes (dispatcher, each host's
supervisor and cluster), the Postgres backends of this database, this process (creating the
tasks and watching), and the whole machine's busy time (everyone's work, for context).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from benchmarks.figures import cpu_seconds_where, load_average, machine_busy_seconds, pct
from benchmarks.scheduler import reset, wait_until
from harness import System
from scheduler import hosts, services
from scheduler.lifecycle import S
from scheduler.models import Event, SchedulerState, Task, WorkerHost

HOSTS = ("studio", "laptop")
MODES = {"one": HOSTS[:1], "two": HOSTS}
JOB_SECONDS = 0.2
NAME = "hosts bench"
WARM_UP = "warm-up of the hosts bench"
TARGET_RATIO = 1.8
STAGES = ("first_claim", "finish_to_claim", "claim_to_start", "job")


def run(*, stdout: Any, options: dict[str, Any]) -> dict[str, Any]:
    rounds = options.get("rounds") or (1 if options.get("quick") else 3)
    tasks = options.get("tasks") or (20 if options.get("quick") else 60)
    call_command("migrate", verbosity=0)
    figures: dict[str, Any] = {"job_seconds": JOB_SECONDS, "tasks": tasks, "rounds": rounds}
    drains: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for n in range(rounds):
        for mode, started in MODES.items():
            stdout.write(f"{mode} host(s), round {n + 1}/{rounds}: draining {tasks} tasks…")
            drains[mode].append(_drain(started, tasks))
            stdout.write(f"  {_summary(drains[mode][-1])}")
    for mode, runs in drains.items():
        rates = [d["tasks_per_second"] for d in runs]
        figures[mode] = {
            "tasks_per_second": rates,
            "median": sorted(rates)[len(rates) // 2],
            "stages_ms": _stages_summary([d["stages"] for d in runs]),
            "cpu_ms_per_task": {
                key: round(sorted(d["cpu_ms_per_task"][key] for d in runs)[len(runs) // 2], 1)
                for key in runs[0]["cpu_ms_per_task"]
            },
            "load_average": [d["load_average"] for d in runs],
        }
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


def _summary(drain: dict[str, Any]) -> str:
    stages = ", ".join(
        f"{k} p50 {pct(v, 50):.0f} / mean {sum(v) / max(len(v), 1):.0f} ms"
        for k, v in drain["stages"].items()
    )
    cpu = drain["cpu_ms_per_task"]
    return (
        f"{drain['tasks_per_second']} tasks/s ({stages}; CPU per task {cpu['system']:.0f} ms "
        f"in the system, {cpu['machine']:.0f} ms machine-wide; load {drain['load_average']})"
    )


def _drain(started: tuple[str, ...], count: int) -> dict[str, Any]:
    reset()
    WorkerHost.objects.all().delete()
    with tempfile.TemporaryDirectory(prefix="hosts-bench-") as workdir:
        # No probes when a dispatcher takes the lead: they are Safari work too (a Sora credit
        # check, the platforms' probes) against services this bench does not run, and held a
        # host's Safari for seconds at the start of every drain (first claim 3.2 s, measured).
        system = System(
            Path(workdir),
            "inherit",
            fast=False,
            SAFARI_HOSTS=",".join(HOSTS),
            PROBE_ON_LEAD="false",
        )
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
            _warm_up(started)
            cpu = _cpu(system)
            for n in range(count):
                services.task_schedule(
                    type="check",
                    name=f"{NAME} {n}",
                    payload={"seconds": JOB_SECONDS},
                    requirements={"safariExclusive": True},
                    safari_host="any",
                )
            _wait_done(count)
            used = {key: value - cpu[key] for key, value in _cpu(system).items()}
            elapsed = _elapsed()
            return {
                "tasks_per_second": round(count / elapsed, 2),
                "stages": _stages(),
                "cpu_ms_per_task": {k: round(1000 * v / count, 1) for k, v in used.items()},
                "load_average": load_average(),
            }
        finally:
            system.stop(timeout=20)
            reset()


def _warm_up(started: tuple[str, ...]) -> None:
    """One task pinned to each host, run before the clock starts: a host is online once its
    supervisor beats, but its cluster's workers may still be starting (the first task of a
    drain waited up to 8 s between its claim and its start, measured)."""
    with override_settings(SAFARI_HOSTS=list(HOSTS)):  # the system's hosts, not this process's
        for host in started:
            services.task_schedule(
                type="check",
                name=f"{WARM_UP} {host}",
                requirements={"safariExclusive": True},
                safari_host=host,
            )
    done = Task.objects.filter(name__startswith=WARM_UP, status=S.COMPLETED)
    wait_until(lambda: done.count() >= len(started), 120, "a warm-up task on each host")


def _elapsed() -> float:
    """Seconds from the first task's creation to the last one's completion."""
    first = Task.objects.filter(name__startswith=NAME).order_by("created_at").first()
    last = _events("task.completed").order_by("-created_at").first()
    if first is None or last is None:
        raise RuntimeError("no task of the bench ran")
    return float((last.created_at - first.created_at).total_seconds())


def _wait_done(count: int) -> None:
    """Look rarely: each look is a query, and the rate comes from the rows anyway."""
    deadline = time.monotonic() + 600
    while _done() < count:
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for every task done")
        time.sleep(0.25)


def _cpu(system: System) -> dict[str, float]:
    name = connection.settings_dict["NAME"]
    backends = (
        cpu_seconds_where(lambda cmd: cmd.startswith("postgres: ") and f" {name} " in cmd)
        if connection.vendor == "postgresql"
        else 0.0
    )
    return {
        "system": system.cpu_seconds(),
        "postgres_backends": backends,
        "bench_process": time.process_time(),
        "machine": machine_busy_seconds(),
    }


def _events(kind: str) -> Any:
    return Event.objects.filter(kind=kind, task__name__startswith=NAME)


def _stages() -> dict[str, list[float]]:
    """Per task, in ms, on the host that ran it; see the module's docstring."""
    at: dict[int, dict[str, Any]] = {}
    for kind in ("task.claimed", "task.started", "task.completed"):
        for task_id, moment in _events(kind).values_list("task_id", "created_at"):
            at.setdefault(task_id, {})[kind] = moment
    by_host: dict[str, list[dict[str, Any]]] = {}
    for task_id, host in Task.objects.filter(pk__in=at).values_list("pk", "safari_host"):
        if len(at[task_id]) == 3:
            by_host.setdefault(host, []).append(at[task_id])
    stages: dict[str, list[float]] = {stage: [] for stage in STAGES}

    def ms(later: Any, earlier: Any) -> float:
        return float((later - earlier).total_seconds() * 1000)

    first_created = Task.objects.filter(name__startswith=NAME).order_by("created_at").first()
    for runs in by_host.values():
        runs.sort(key=lambda t: t["task.started"])
        if first_created is not None and runs:
            stages["first_claim"].append(ms(runs[0]["task.claimed"], first_created.created_at))
        for before, task in zip([None, *runs], runs, strict=False):
            if before is not None:
                stages["finish_to_claim"].append(ms(task["task.claimed"], before["task.completed"]))
            stages["claim_to_start"].append(ms(task["task.started"], task["task.claimed"]))
            stages["job"].append(ms(task["task.completed"], task["task.started"]))
    return stages


def _stages_summary(rounds: list[dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    merged = {stage: [v for r in rounds for v in r[stage]] for stage in STAGES}
    return {
        stage: {
            "p50": round(pct(v, 50), 1),
            "p95": round(pct(v, 95), 1),
            "max": round(max(v, default=float("nan")), 1),
            # the drain rate follows the mean: a few long waits weigh as much as many short
            "mean": round(sum(v) / max(len(v), 1), 1),
            "n": len(v),
        }
        for stage, v in merged.items()
    }


def _online() -> set[str]:
    states = hosts.liveness(timezone.now(), list(HOSTS))
    return {host for host, live in states.items() if live.state == "online"}


def _done() -> int:
    return Task.objects.filter(name__startswith=NAME, status=S.COMPLETED).count()
