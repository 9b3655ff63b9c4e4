"""`manage.py bench dashboard`: event-to-browser latency and page load, in real Chromium.

For each profile (SQLite always; Postgres + Redis with `--scale`) it starts the system as
processes (daphne, the workers, the dispatcher) on a database of its own, opens the dashboard
in headless Chromium, then:
1. writes N events from another process, paced, and reads in the page when each arrived:
   latency = arrival in the page minus the event's `created_at` (one clock: same machine);
2. queues 10,000 pending tasks and loads the page a few times (Navigation Timing).

Targets (issue 6): latency p95 ≤ 300 ms on SQLite; page load with 10,000 queued ≤ 1 s.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
USER = "bench-dashboard"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]


# --- run inside the system's processes through `manage.py shell -c` ------------------------


def emit(count: int, gap: float) -> None:
    """Write `count` events, one transaction each, `gap` seconds apart."""
    from django.db import transaction

    from scheduler import events

    for n in range(count):
        with transaction.atomic():
            events.record("bench.ping", subject="bench", subject_id=n, message=f"ping {n}")
        time.sleep(gap)


def queue_tasks(count: int) -> None:
    """Queue `count` pending check tasks, spread over the next hours (untimed, bulk)."""
    from datetime import timedelta

    from django.utils import timezone

    from scheduler.models import Lane, Task
    from scheduler.services import lane_key

    now = timezone.now()
    lane = lane_key(type="check", platform="", account="", host=settings.SAFARI_HOST)
    Lane.objects.bulk_create([Lane(key=lane)], ignore_conflicts=True)
    Task.objects.bulk_create(
        [
            Task(
                type="check",
                name=f"bench {n}",
                lane=lane,
                safari_host=settings.SAFARI_HOST,
                scheduled_for=now + timedelta(hours=1, seconds=n),
                created_at=now,
            )
            for n in range(count)
        ],
        batch_size=2000,
    )


def make_user(password: str) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(username=USER)
    user.is_staff = True
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name="viewer"))  # the dashboard only reads


# --- the system as processes --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BenchSystem:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = env
        self.workdir = workdir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")
        return done.stdout

    def shell(self, code: str) -> None:
        self.manage("shell", "-c", code)

    def spawn(self, name: str, *args: str) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                list(args),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self) -> None:
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput", "-v", "0")  # DEBUG is off, as deployed
        exe = sys.executable
        self.spawn(
            "web", exe, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
            "safari_auto.asgi:application",
        )  # fmt: skip
        self.spawn("workers", exe, "manage.py", "qcluster")
        self.spawn("dispatcher", exe, "manage.py", "scheduler", "start", "--name", "bench")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/health", timeout=1).ok:
                    return
            time.sleep(0.2)
        raise RuntimeError("daphne did not answer /health within 30 s")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


# --- measurements in the browser -----------------------------------------------------------


def _login(browser: Any, system: BenchSystem, password: str) -> Any:
    page = browser.new_page()
    page.goto(f"{system.base}/admin/login/?next=/")
    page.fill("#id_username", USER)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{system.base}/")
    page.wait_for_selector("#live[data-state=connected]", timeout=15_000)
    return page


def _latency(page: Any, system: BenchSystem, count: int, gap: float) -> dict[str, Any]:
    page.evaluate("window.dashboardStats.received = []")
    system.shell(f"from dashboard.bench import emit; emit({count}, {gap})")
    deadline = time.monotonic() + 30
    received: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        received = [
            r
            for r in page.evaluate("window.dashboardStats.received")
            if r.get("kind") == "bench.ping"
        ]
        if len(received) >= count:
            break
        time.sleep(0.2)
    lat = [float(r["at"] - r["ts"]) for r in received]
    return {
        "events": count,
        "received": len(received),
        "gap_ms": round(gap * 1000),
        "p50_ms": round(pct(lat, 50), 1),
        "p95_ms": round(pct(lat, 95), 1),
        "max_ms": round(max(lat), 1) if lat else None,
    }


NAV_TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart - n.requestStart, dom: n.domContentLoadedEventEnd,
          load: n.loadEventEnd, bytes: n.transferSize};
}"""


def _page_load(page: Any, system: BenchSystem, tasks: int, loads: int) -> dict[str, Any]:
    system.shell(f"from dashboard.bench import queue_tasks; queue_tasks({tasks})")
    timings = []
    for _ in range(loads):
        page.goto(f"{system.base}/")
        page.wait_for_load_state("load")
        timings.append(page.evaluate(NAV_TIMING))
    fragments = []
    for _ in range(loads):
        fragments.append(
            page.evaluate(
                """async () => { const t = performance.now();
                   await (await fetch('/dashboard/fragments', {headers: {'X-Requested-With':
                   'fetch'}})).json(); return performance.now() - t; }"""
            )
        )
    text = page.inner_text("#queue")
    return {
        "queued_tasks": tasks,
        "loads": loads,
        "server_ttfb_ms_median": round(statistics.median(t["ttfb"] for t in timings), 1),
        "dom_content_loaded_ms_median": round(statistics.median(t["dom"] for t in timings), 1),
        "load_ms_median": round(statistics.median(t["load"] for t in timings), 1),
        "load_ms_max": round(max(t["load"] for t in timings), 1),
        "fragments_fetch_ms_median": round(statistics.median(fragments), 1),
        "page_bytes": timings[-1]["bytes"],
        "paginated": "page 1 of" in text,
    }


def _measure(
    env: dict[str, str], workdir: Path, *, events: int, gap: float, tasks: int, stdout: Any
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    system = BenchSystem(env, workdir)
    password = secrets.token_urlsafe(16)
    try:
        system.start()
        system.shell(f"from dashboard.bench import make_user; make_user({password!r})")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = _login(browser, system, password)
                stdout.write("  warm-up…")
                _latency(page, system, 20, gap)
                stdout.write(f"  latency over {events} events…")
                latency = _latency(page, system, events, gap)
                stdout.write(f"  {latency}")
                stdout.write(f"  page load with {tasks} queued tasks…")
                load = _page_load(page, system, tasks, 5)
                stdout.write(f"  {load}")
            finally:
                browser.close()
    finally:
        system.stop()
    return {"event_to_browser_latency": latency, "page_load": load}


def _base_env(workdir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safari_auto.settings",
        "DATA_DIR": str(workdir),
        "SAFARI_ENV": "development",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return env


def run(*, stdout: Any, options: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package")
    quick = bool(options.get("quick"))
    events = int(options.get("events") or (100 if quick else 300))
    gap = 0.02
    tasks = int(options.get("tasks") or 10_000)
    figures: dict[str, Any] = {"chromium": CHROMIUM, "poll_ms": 100}
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp:
        workdir = Path(tmp)
        env = _base_env(workdir)
        env["SQLITE_PATH"] = str(workdir / "dashboard-bench.sqlite3")
        stdout.write("bench dashboard on SQLite + the in-memory channel layer")
        figures["sqlite"] = _measure(
            env, workdir, events=events, gap=gap, tasks=tasks, stdout=stdout
        )
        if options.get("scale"):
            figures["postgres_redis"] = _scale(workdir, events, gap, tasks, stdout)
    return figures


def _scale(workdir: Path, events: int, gap: float, tasks: int, stdout: Any) -> dict[str, Any]:
    import psycopg

    admin = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
    redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    env = _base_env(workdir)
    env["DATABASE_URL"] = admin.rsplit("/", 1)[0] + f"/{name}"
    env["REDIS_URL"] = redis
    env["Q_CLUSTER_PREFIX"] = name
    stdout.write("bench dashboard on Postgres + Redis (channels-redis)")
    try:
        return _measure(env, workdir, events=events, gap=gap, tasks=tasks, stdout=stdout)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
