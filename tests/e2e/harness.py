"""Start the real system as processes: daphne, qcluster, the dispatcher, the simulators.

Each test gets its own SQLite file (or Postgres database), free ports and fast leases, so
tests that kill processes finish in seconds.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
FAST = {
    "SCHEDULER_LEADER_LEASE_SECONDS": "2",
    "SCHEDULER_HEARTBEAT_SECONDS": "0.3",
    "SCHEDULER_HEARTBEAT_TIMEOUT_SECONDS": "2",
    "SCHEDULER_CLAIM_LEASE_SECONDS": "15",
    "SCHEDULER_BACKOFF_BASE_SECONDS": "0.5",
    "SCHEDULER_BACKOFF_CAP_SECONDS": "2",
    "SCHEDULER_MAX_SLEEP_SECONDS": "1",
    "Q_WORKERS": "2",
    "Q_POLL_SECONDS": "0.05",
    "LOG_LEVEL": "WARNING",
    # The simulators behave as the real services (slow sends on a busy tab, broken X reads),
    # with sends 50x faster than theirs: TikTok 0.7 s, Instagram 0.4 s, X 0.2 s.
    "SIM_PROFILE": "real",
    "SIM_DURATION_SCALE": "50",
    "DM_SEND_SETTLE_SECONDS": "1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scale_urls() -> tuple[str, str] | None:
    """Postgres and Redis URLs when both answer; in CI their absence fails the test."""
    from tests.services_up import reachable

    if reachable(5432) and reachable(6379):
        return "postgres://postgres@127.0.0.1:5432/test", "redis://127.0.0.1:6379/0"
    if os.environ.get("CI") == "true":
        pytest.fail("Postgres and Redis must be reachable in CI for the scale profile")
    pytest.skip("Postgres/Redis not reachable on 127.0.0.1: scale profile not tested")
    return None


class System:
    def __init__(self, tmp_path: Path, profile: str = "sqlite", **env: str) -> None:
        self.tmp = tmp_path
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "safari_auto.settings",
            "DATA_DIR": str(tmp_path),
            "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
            "SAFARI_ENV": "development",
            **FAST,
            **env,
        }
        self.env.pop("DATABASE_URL", None)
        self.env.pop("REDIS_URL", None)
        if profile == "scale":
            urls = scale_urls()
            assert urls is not None
            db_url, redis_url = urls
            name = f"e2e_{uuid.uuid4().hex[:10]}"
            self._psql(f"CREATE DATABASE {name}")
            self.pg_db = name
            self.env["DATABASE_URL"] = db_url.rsplit("/", 1)[0] + f"/{name}"
            self.env["REDIS_URL"] = redis_url
            self.env["Q_CLUSTER_PREFIX"] = name
        self.token = ""

    @staticmethod
    def _psql(sql: str) -> None:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute(sql)

    # --- processes --------------------------------------------------------------------

    def manage(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        self.logs[name] = log
        proc = subprocess.Popen(
            list(args),
            cwd=ROOT,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def setup(self) -> System:
        self.manage("migrate", "--noinput")
        out = self.manage("ensure_admin", "--password", "e2e-pass-123")
        match = re.search(r"API token: (\w+)", out)
        assert match, out
        self.token = match.group(1)
        return self

    def start_web(self) -> None:
        if not (self.tmp / "static").exists():  # DEBUG is off, as under `make run`
            self.manage("collectstatic", "--noinput", "-v", "0")
        self.spawn(
            "web",
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "safari_auto.asgi:application",
        )
        self.wait_for(lambda: self._health_ok(), 20, "daphne to answer /health")

    def start_workers(self, name: str = "workers") -> subprocess.Popen[bytes]:
        return self.spawn(name, sys.executable, "manage.py", "qcluster")

    def start_dispatcher(self, name: str = "dispatcher") -> subprocess.Popen[bytes]:
        return self.spawn(name, sys.executable, "manage.py", "scheduler", "start", "--name", name)

    def start_all(self) -> System:
        self.setup()
        self.start_web()
        self.start_workers()
        self.start_dispatcher()
        return self

    def _health_ok(self) -> bool:
        try:
            return requests.get(f"{self.base}/health", timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if getattr(self, "pg_db", None):
            try:
                self._psql(f"DROP DATABASE IF EXISTS {self.pg_db} WITH (FORCE)")
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
        assert answer.status_code == 200, answer.text
        return answer.json()["task"]

    def wait_for(self, predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        logs = "\n".join(f"--- {n} ---\n{self.log(n)[-3000:]}" for n in self.logs)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{logs}")

    def wait_status(self, task_id: str, statuses: set[str], timeout: float = 90) -> dict:
        return self.wait_for(
            lambda: (t := self.task(task_id))["status"] in statuses and t,
            timeout,
            f"task {task_id} to reach {statuses}",
        )
