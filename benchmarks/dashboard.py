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

import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings

from benchmarks.figures import pct
from harness import CHROMIUM, CHROMIUM_ARGS, System

__all__ = ["pct", "run"]

USER = "bench-dashboard"


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


# --- measurements in the browser -----------------------------------------------------------


def _login(browser: Any, system: System, password: str) -> Any:
    page = browser.new_page()
    page.goto(f"{system.base}/admin/login/?next=/")
    page.fill("#id_username", USER)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{system.base}/")
    page.wait_for_selector("#live[data-state=connected]", timeout=15_000)
    return page


def _latency(page: Any, system: System, count: int, gap: float) -> dict[str, Any]:
    page.evaluate("window.dashboardStats.received = []")
    system.shell(f"from benchmarks.dashboard import emit; emit({count}, {gap})")
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


def _page_load(page: Any, system: System, tasks: int, loads: int) -> dict[str, Any]:
    system.shell(f"from benchmarks.dashboard import queue_tasks; queue_tasks({tasks})")
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


def _measure(system: System, *, events: int, gap: float, tasks: int, stdout: Any) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    password = secrets.token_urlsafe(16)
    try:
        system.manage("migrate", "--noinput", timeout=600)
        system.start_workers()
        system.start_dispatcher("bench")
        system.start_web(timeout=30)
        system.shell(f"from benchmarks.dashboard import make_user; make_user({password!r})")
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


def _system(workdir: Path, profile: str) -> System:
    """The system as deployed (no test timings), on SQLite or on a Postgres database of its
    own with Redis (`BENCH_POSTGRES_URL`, `BENCH_REDIS_URL` say where)."""
    return System(
        workdir,
        profile,
        fast=False,
        postgres_admin_url=os.environ.get(
            "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
        ),
        redis_url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        LOG_LEVEL="WARNING",
        SQLITE_PATH=str(workdir / "dashboard-bench.sqlite3"),
    )


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
        stdout.write("bench dashboard on SQLite + the in-memory channel layer")
        figures["sqlite"] = _measure(
            _system(workdir, "sqlite"), events=events, gap=gap, tasks=tasks, stdout=stdout
        )
        if options.get("scale"):
            stdout.write("bench dashboard on Postgres + Redis (channels-redis)")
            figures["postgres_redis"] = _measure(
                _system(workdir, "scale"), events=events, gap=gap, tasks=tasks, stdout=stdout
            )
    return figures
