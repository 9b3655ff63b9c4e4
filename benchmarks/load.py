"""`manage.py load`: concurrent API clients against daphne, on SQLite and on Postgres + Redis.

For each profile it starts the system as deployed (daphne, the workers, the dispatcher) as
processes on a database of its own (`harness.System`), makes an operator with an API token,
and runs `--clients` clients for `--seconds` (`benchmarks.loadclients`): queue reads and task
creates (check tasks due now, which the dispatcher claims and the workers run meanwhile).
Then it checks that every created task is in the database and finished, and reads the
processes' logs for "database is locked".

Figures per class of request: requests, requests per second, p50/p95/p99/max, errors and
"database is locked". The targets (issue 15): 0 errors and 0 "database is locked" everywhere;
on Postgres + Redis p99 <= 250 ms for reads and <= 500 ms for creates; on SQLite creates p95
under 300 ms.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.loadclients import LOCKED, figures, run_clients
from harness import System

PROFILES = ("sqlite", "scale")
USER = "load-operator"
NAME_PREFIX = "load "
POSTGRES_ADMIN = os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0")
# (profile, class, percentile, at most ms)
LATENCY_TARGETS = (
    ("sqlite", "create", "p95_ms", 300.0),
    ("scale", "read", "p99_ms", 250.0),
    ("scale", "create", "p99_ms", 500.0),
)


# --- run inside the system's processes through `manage.py shell -c` ------------------------


def make_operator() -> None:
    """An operator (the role that may create tasks) and an API token for it, printed."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from knox.models import AuthToken

    user, _ = get_user_model().objects.get_or_create(username=USER)
    user.groups.add(Group.objects.get(name="operator"))
    _, token = AuthToken.objects.create(user=user)
    print(f"token={token}")


def task_states(ids_file: str) -> None:
    """How many of the created tasks (ids in `ids_file`) exist, and how many have finished."""
    from scheduler.models import Task

    ids = [int(i) for i in json.loads(Path(ids_file).read_text())]
    rows = Task.objects.filter(pk__in=ids)
    finished = rows.filter(status__in=("completed", "failed", "cancelled")).count()
    extra = Task.objects.filter(name__startswith=NAME_PREFIX).exclude(pk__in=ids).count()
    print(json.dumps({"found": rows.count(), "finished": finished, "unreported": extra}))


# --- the run -----------------------------------------------------------------------------


def _system(workdir: Path, profile: str, options: dict[str, Any]) -> System:
    return System(
        workdir,
        profile,
        fast=False,  # as deployed
        postgres_admin_url=options.get("postgres_admin_url") or POSTGRES_ADMIN,
        redis_url=options.get("redis_url") or REDIS,
        environ={"DEBUG": "0", "LOG_LEVEL": "WARNING"},
    )


def _tasks(system: System, ids: list[str], workdir: Path, drain: float) -> dict[str, Any]:
    """Every created task found; wait up to `drain` seconds for them all to finish."""
    ids_file = workdir / "created-ids.json"
    ids_file.write_text(json.dumps(ids))
    code = f"from benchmarks.load import task_states; task_states({str(ids_file)!r})"
    deadline = time.monotonic() + drain
    while True:
        state: dict[str, Any] = json.loads(system.shell(code).strip().splitlines()[-1])
        if state["finished"] >= len(ids) or time.monotonic() >= deadline:
            break
        time.sleep(1)
    return {
        "created": len(ids),
        "missing": len(ids) - state["found"],
        "unfinished": state["found"] - state["finished"],
        "unreported": state["unreported"],  # rows made by a request answered as failed
    }


def cpu_by_process(system: System) -> dict[str, float]:
    """CPU seconds (user + system) of each of the system's processes with its children,
    by process name (Linux /proc; the process groups `System.spawn` made)."""
    names = {proc.pid: name for name, proc in system.procs.items()}
    seconds = dict.fromkeys(names.values(), 0.0)
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(fields[2]))  # field 5 of stat: the process group
        if name is not None:
            seconds[name] += (int(fields[11]) + int(fields[12])) / tick
    return seconds


def _logs(system: System) -> dict[str, int]:
    return {name: system.log(name).lower().count(LOCKED) for name in system.logs}


def run_profile(profile: str, options: dict[str, Any], stdout: Any) -> dict[str, Any]:
    clients, seconds = int(options["clients"]), float(options["seconds"])
    warmup = float(options.get("warmup", 5))
    with tempfile.TemporaryDirectory(prefix=f"load-{profile}-") as tmp:
        workdir = Path(tmp)
        system = _system(workdir, profile, options)
        try:
            system.start_all()
            out = system.shell("from benchmarks.load import make_operator; make_operator()")
            token = out.strip().rsplit("token=", 1)[-1]
            stdout.write(f"  {clients} clients for {warmup:g} s warm-up + {seconds:g} s…")
            start = time.monotonic()
            cpu_before = cpu_by_process(system)
            load_before = round(os.getloadavg()[0], 2)
            tally = run_clients(
                base=system.base,
                token=token,
                clients=clients,
                seconds=warmup + seconds,
                pace=float(options.get("pace", 1.0)),
                create_share=float(options.get("create_share", 0.25)),
                seed=int(options.get("seed", 0)),
            )
            wall = time.monotonic() - start
            cpu = {
                name: round(spent - cpu_before.get(name, 0.0), 2)
                for name, spent in cpu_by_process(system).items()
            }
            result = figures(tally, since=start + warmup, seconds=seconds)
            every = len(tally.samples)
            result["cpu"] = {
                "seconds_by_process": cpu,
                "wall_seconds": round(wall, 1),
                "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
                "web_ms_per_request": round(cpu.get("web", 0.0) * 1000 / every, 2)
                if every
                else None,
            }
            result["tasks"] = _tasks(
                system, tally.created_ids, workdir, float(options.get("drain", 60))
            )
            result["log_database_is_locked"] = _logs(system)
        finally:
            system.stop()
    result["profile"] = profile
    result["clients"], result["seconds"], result["warmup_seconds"] = clients, seconds, warmup
    result["checks"] = checks(profile, result)
    return result


def checks(profile: str, result: dict[str, Any]) -> dict[str, bool]:
    """Each target of this profile: met or not."""
    met = {
        "0 errors": result["all"]["errors"] == 0,
        "0 database is locked": result["all"]["database_is_locked"] == 0
        and sum(result["log_database_is_locked"].values()) == 0,
        "every created task stored and finished": result["tasks"]["missing"] == 0
        and result["tasks"]["unfinished"] == 0,
    }
    for target_profile, kind, figure, limit in LATENCY_TARGETS:
        if target_profile == profile:
            met[f"{kind} {figure.removesuffix('_ms')} <= {limit:g} ms"] = (
                result[kind][figure] <= limit
            )
    return met


def run(*, stdout: Any, options: dict[str, Any]) -> dict[str, Any]:
    profile = options.get("profile") or "both"
    profiles = PROFILES if profile == "both" else (profile,)
    results: dict[str, Any] = {}
    for name in profiles:
        stdout.write(f"load on {name}")
        results[name] = run_profile(name, options, stdout)
        stdout.write(f"  {json.dumps({k: results[name][k] for k in ('read', 'create')})}")
    return results


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table (what docs/RELIABILITY.md shows)."""
    lines = [
        "| requests | count | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | locked |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("read", "create", "all"):
        f = result[kind]
        lines.append(
            f"| {kind} | {f['requests']} | {f['rps']} | {f['p50_ms']} | {f['p95_ms']} | "
            f"{f['p99_ms']} | {f['max_ms']} | {f['errors']} | {f['database_is_locked']} |"
        )
    return "\n".join(lines)
