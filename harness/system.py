"""The running system as processes: daphne, qcluster, the dispatcher, the simulators.

`System(workdir, profile)` starts them on a database of their own:
- `sqlite`: a SQLite file in `workdir` (the embedded default);
- `scale`: a Postgres database made for it (dropped on `stop`) and Redis, with a django-q2
  cluster prefix of its own so parallel systems never share a queue;
- `inherit`: whatever this process's environment points at (a benchmark that measures from
  its own process too, on the same database and broker).

`environ` and keyword arguments are added to the processes' environment. With `fast` (the
e2e default) leases, heartbeats and backoffs are short and the simulators run 50x faster, so
a test that kills processes finishes in seconds. Every process runs in its own process group;
`stop` sends SIGTERM to each group, then SIGKILL to what is left.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, LiteralString, NoReturn, TypeVar

import requests

from harness.ports import free_port, reachable, simulator_port, simulator_url

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_PASSWORD = "e2e-pass-123"  # noqa: S105 - the throwaway systems' admin, on 127.0.0.1 only
FAST = {
    "SCHEDULER_LEADER_LEASE_SECONDS": "2",
    "SCHEDULER_HEARTBEAT_SECONDS": "0.3",
    "SCHEDULER_HEARTBEAT_TIMEOUT_SECONDS": "2",
    "SCHEDULER_CLAIM_LEASE_SECONDS": "15",
    "SCHEDULER_BACKOFF_BASE_SECONDS": "0.5",
    "SCHEDULER_BACKOFF_CAP_SECONDS": "2",
    "SCHEDULER_MAX_SLEEP_SECONDS": "1",
    "Q_WORKERS": "2",
    # The workers' supervisor: beats, a frozen cluster restarted after 3 s, stops within 5 s.
    "SCHEDULER_HOST_BEAT_SECONDS": "0.5",
    "SCHEDULER_FREEZE_SECONDS": "3",
    "SCHEDULER_STOP_GRACE_SECONDS": "5",
    "Q_POLL_SECONDS": "0.05",
    "LOG_LEVEL": "WARNING",
    # The simulators behave as the real services (slow sends on a busy tab, broken X reads),
    # with sends 50x faster than theirs: TikTok 0.7 s, Instagram 0.4 s, X 0.2 s.
    "SIM_PROFILE": "real",
    "SIM_DURATION_SCALE": "50",
    "DM_SEND_SETTLE_SECONDS": "1",
}
PROFILES = ("sqlite", "scale", "inherit")
T = TypeVar("T")


class ScaleUnavailable(RuntimeError):
    """The scale profile was asked for and Postgres or Redis does not answer."""


def scale_available() -> bool:
    return reachable(5432) and reachable(6379)


_RUNNING: set[System] = set()  # systems with processes started and not stopped yet


def stop_all() -> list[str]:
    """Stop every System of this process still running; say whose (their work dirs).

    A test or benchmark that fails while starting a system may never reach its `stop()`:
    its processes would run on, holding ports, CPU and a database. This runs at exit, and
    the tests run it after each test."""
    left = sorted(str(system.tmp) for system in _RUNNING)
    for system in list(_RUNNING):
        system.stop()
    return left


atexit.register(stop_all)


def _processes() -> dict[int, tuple[int, int]]:
    """Every live process's (parent, start time in clock ticks), from Linux /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":  # fields[0] is stat's field 3: the state
            found[int(stat.parent.name)] = (int(fields[1]), int(fields[19]))
    return found


def children(pid: int) -> list[int]:
    """The live children of `pid`, oldest first."""
    procs = _processes()
    return sorted((child for child, (parent, _) in procs.items() if parent == pid),
                  key=lambda child: (procs[child][1], child))  # fmt: skip


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, however deep."""
    procs = _processes()
    found: list[int] = []
    frontier = {pid}
    while frontier:
        below = [child for child, (parent, _) in procs.items() if parent in frontier]
        found += below
        frontier = set(below)
    return found


class System:
    def __init__(
        self,
        workdir: Path,
        profile: str = "sqlite",
        *,
        fast: bool = True,
        keep_logs: bool = True,
        postgres_admin_url: str = POSTGRES_ADMIN_URL,
        redis_url: str = REDIS_URL,
        environ: Mapping[str, str] | None = None,
        **env: str,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
        self.tmp = workdir
        self.keep_logs = keep_logs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._replaced: list[subprocess.Popen[bytes]] = []  # earlier processes of a name
        self.logs: dict[str, Path] = {}
        self.token = ""
        self.pg_db = ""
        self._pg_admin = postgres_admin_url
        self.env = dict(os.environ)
        if profile != "inherit":
            self.env.update(
                DJANGO_SETTINGS_MODULE="safari_auto.settings",
                DATA_DIR=str(workdir),
                SQLITE_PATH=str(workdir / "db.sqlite3"),
                SAFARI_ENV="development",
            )
            self.env.pop("DATABASE_URL", None)
            self.env.pop("REDIS_URL", None)
        self.env.update({**(FAST if fast else {}), **(environ or {}), **env})
        if profile == "scale":
            self._make_scale_database(redis_url)

    def _make_scale_database(self, redis_url: str) -> None:
        if not scale_available():
            self.scale_unavailable("Postgres/Redis not reachable on 127.0.0.1")
        name = f"e2e_{uuid.uuid4().hex[:10]}"
        self._psql("CREATE DATABASE {}", name)
        self.pg_db = name
        self.env["DATABASE_URL"] = self._pg_admin.rsplit("/", 1)[0] + f"/{name}"
        self.env["REDIS_URL"] = redis_url
        self.env["Q_CLUSTER_PREFIX"] = name

    def scale_unavailable(self, message: str) -> NoReturn:
        """What a missing Postgres or Redis means to the caller (tests skip, or fail in CI)."""
        raise ScaleUnavailable(message)

    def _psql(self, template: LiteralString, name: str) -> None:
        """One statement about database `name` on the Postgres server's admin database."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self._pg_admin, autocommit=True) as conn:
            conn.execute(sql.SQL(template).format(sql.Identifier(name)))

    # --- processes --------------------------------------------------------------------

    def manage(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        """`manage.py ARGS` in the system's environment; its stdout."""
        done = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-4000:]}")
        return done.stdout

    def shell(self, code: str, timeout: float = 600) -> str:
        """Run Python inside the system (`manage.py shell -c`)."""
        return self.manage("shell", "-c", code, timeout=timeout)

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """Start `args` in a process group of its own, its output in `<workdir>/<name>.log`."""
        output: Any = subprocess.DEVNULL
        if self.keep_logs:
            log = self.tmp / f"{name}.log"
            self.logs[name] = log
            output = log.open("wb")
        proc = subprocess.Popen(  # noqa: S603 - the caller's own command line
            list(args),
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if name in self.procs:
            self._replaced.append(self.procs[name])
        self.procs[name] = proc
        _RUNNING.add(self)
        return proc

    def setup(self) -> System:
        """Migrate and make the admin; keeps its API token for `api`."""
        self.manage("migrate", "--noinput")
        out = self.manage("ensure_admin", "--password", ADMIN_PASSWORD)
        match = re.search(r"API token: (\w+)", out)
        if not match:
            raise AssertionError(f"ensure_admin printed no API token:\n{out}")
        self.token = match.group(1)
        return self

    def start_web(self, timeout: float = 20) -> None:
        if not (self.tmp / "static").exists():  # DEBUG is off, as under `make run`
            self.manage("collectstatic", "--noinput", "-v", "0")
        self.spawn(
            "web",
            sys.executable,
            "-m",
            "safari_auto.web",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        )  # fmt: skip  (WEB_PROCESSES daphne processes on one socket)
        self.wait_for(self._health_ok, timeout, "daphne to answer /health")

    def start_workers(self, name: str = "workers") -> subprocess.Popen[bytes]:
        """`manage.py workers`, as users run it: a supervisor whose django-q2 cluster runs in
        a process group of its own (`cluster_pids`, `worker_pids`)."""
        return self.spawn(name, sys.executable, "manage.py", "workers")

    def pool_workers(self, pool: str = "main") -> int:
        """How many workers a pool's cluster has (settings: Q_WORKERS, RESERVED_WORKERS)."""
        reserved = int(self.env.get("SCHEDULER_RESERVED_WORKERS", "2"))
        ordinary = int(self.env.get("Q_WORKERS", "4"))
        return reserved if pool == "main" and reserved else ordinary

    def _cluster_main(self, name: str, pool: str) -> int | None:
        """The main process of the supervisor `name`'s cluster of `pool` (started in order:
        the main pool's first, then ordinary work's)."""
        clusters = children(self.procs[name].pid)
        index = 0 if pool == "main" else 1
        return clusters[index] if len(clusters) > index else None

    def cluster_pids(self, name: str = "workers", pool: str = "main") -> list[int]:
        """The processes of the django-q2 cluster of `pool` that the supervisor `name` runs now
        (its main process first), or [] while it has none."""
        main = self._cluster_main(name, pool)
        return [main, *descendants(main)] if main else []

    def worker_pids(self, name: str = "workers", pool: str = "main") -> list[int]:
        """The django-q2 worker processes of that cluster: its sentinel's first children
        (the sentinel spawns its workers before its monitor and pusher)."""
        main = self._cluster_main(name, pool)
        sentinels = children(main) if main else []
        return children(sentinels[0])[: self.pool_workers(pool)] if sentinels else []

    def start_dispatcher(self, name: str = "dispatcher") -> subprocess.Popen[bytes]:
        return self.spawn(name, sys.executable, "manage.py", "scheduler", "start", "--name", name)

    def start_all(self) -> System:
        self.setup()
        self.start_web()
        self.start_workers()
        self.start_dispatcher()
        return self

    def start_simulators(
        self, keys: Iterable[str], offset: int, *args: str, timeout: float = 30
    ) -> dict[str, str]:
        """`manage.py simulate --only KEYS --port-offset OFFSET ARGS`, up and listening;
        each service key's URL (`twitter_dm`, `sora`, …)."""
        keys = list(keys)
        self.spawn(
            "simulate", sys.executable, "manage.py", "simulate", "--port-offset", str(offset),
            "--only", ",".join(keys), *args,
        )  # fmt: skip
        self.wait_for(
            lambda: all(reachable(simulator_port(key, offset)) for key in keys),
            timeout,
            f"the simulators ({', '.join(keys)})",
        )
        return {key: simulator_url(key, offset) for key in keys}

    def _health_ok(self) -> bool:
        try:
            return requests.get(f"{self.base}/health", timeout=1).ok
        except requests.RequestException:
            return False

    def cpu_seconds(self) -> float:
        """User + system CPU of every live process the system started: its process groups
        and every descendant, also one in a session of its own (the supervisor's cluster of
        `manage.py workers`). Processes that exited are not counted (Linux)."""
        groups = {proc.pid for proc in self.procs.values()}
        below = {pid for group in groups for pid in descendants(group)}
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # field 5 of stat: the process group
            if int(fields[2]) in groups or int(stat.parent.name) in below:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 15) -> None:
        _RUNNING.discard(self)
        procs = [*self._replaced, *self.procs.values()]
        # Processes in groups of their own (the supervisor's cluster) go too, even if the
        # process that started them dies first.
        offspring = [pid for proc in procs for pid in descendants(proc.pid)]
        for proc in procs:  # the whole group: children outlive a leader a test killed
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
        for pid in offspring:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self.pg_db:
            try:
                self._psql("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.pg_db)
            except Exception as exc:  # leave it; the name is unique
                print(f"could not drop {self.pg_db}: {exc}")

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace") if name in self.logs else ""

    # --- HTTP -------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Token {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kwargs)

    def task(self, task_id: str) -> dict[str, Any]:
        answer = self.api("GET", f"/api/scheduler/task/{task_id}")
        if answer.status_code != 200:
            raise AssertionError(f"GET task {task_id}: {answer.status_code} {answer.text}")
        task: dict[str, Any] = answer.json()["task"]
        return task

    def wait_for(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        """`predicate()`'s first truthy value within `timeout` seconds, or AssertionError
        with the end of every process's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        logs = "\n".join(f"--- {n} ---\n{self.log(n)[-3000:]}" for n in self.logs)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")

    def wait_status(self, task_id: str, statuses: set[str], timeout: float = 90) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            task = self.task(task_id)
            return task if task["status"] in statuses else None

        return self.wait_for(reached, timeout, f"task {task_id} to reach {statuses}")
