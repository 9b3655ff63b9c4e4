"""The soak (`manage.py soak --minutes 30`, `make soak`): mixed work for a long while, every
process's memory sampled, and nothing lost.

The whole system runs for real in demo mode (`DEMO=1`, the simulators on a port range of its
own) with compressed limits (the simulators' hours last `SIM_TIME_SCALE`x less; sends need a
second or two between them). A load loop makes mixed work: DMs on TikTok, Instagram and X,
comments on Threads, a Sora video now and then, CRM contact upserts, and reads of the
dashboard, the queue and the CRM. A sampler reads the resident memory (RSS) of every process
of the system every `sample_seconds`. At the end the work settles (a send that waits for a
human is decided from what its simulator shows, as in the chaos suite) and is counted at the
simulators: 0 duplicates, 0 lost, 0 stuck. Each process's growth trend is the slope of a
least-squares line over the second half of its samples, in MB per hour.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from benchmarks.chaos.runner import Tally
from benchmarks.chaos.work import DM_PLATFORMS, Item, Work, settle
from harness import ADMIN_PASSWORD, System, free_offset
from harness.system import descendants

KEYS = [*(f"{p}_dm" for p in DM_PLATFORMS), "threads_comments", "sora"]
ENV = {
    "DEMO": "1",
    "DM_ACTIVE_START": "00:00",
    "DM_ACTIVE_END": "00:00",
    "DM_LIMITS": ",".join(f"{p}:dm=100000/100000/1-2" for p in DM_PLATFORMS)
    + ",threads:comment=100000/100000/1-2",
    "DM_SEND_MAX_RETRIES": "8",
    "SIM_TIME_SCALE": "10",
    "SORA_POLL_SECONDS": "0.5",
    "Q_WORKERS": "2",
}
# A process "grows" when its second-half slope exceeds this; judged only when that half spans
# JUDGED_SECONDS or more (a shorter run's second half is still warm-up: caches, first renders).
GROWTH_LIMIT_MB_PER_HOUR = 20.0
JUDGED_SECONDS = 300.0
# The Sora simulator's daily budget (30 videos) out of the way too: a 30-minute soak makes 50.
SORA = {
    "profile": "kind",
    "set_credits": {"free": 100_000, "paid": 0},
    "generation_seconds": 20,
    "daily_limit": 100_000,
}


def soak(
    *,
    minutes: float,
    tmp: Path | None = None,
    sample_seconds: float = 5.0,
    pace_seconds: float = 1.0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    tmp = tmp or Path(tempfile.mkdtemp(prefix="soak-"))
    offset = free_offset(KEYS)
    system = System(tmp, environ={**ENV, "SIM_PORT_OFFSET": str(offset)})
    samples: dict[str, list[tuple[float, float]]] = {}
    try:
        system.start_all()
        urls = system.start_simulators(KEYS, offset, "--reply-probability", "0.2")
        _configure(urls)
        system.manage("sora", "check")
        works = _works(urls)
        items: dict[str, Item] = {}
        stop = threading.Event()
        sampler = threading.Thread(
            target=_sample, args=(system, samples, stop, sample_seconds), daemon=True
        )
        sampler.start()
        started = time.monotonic()
        reads = _load(system, works, items, started + minutes * 60, pace_seconds, log)
        log(f"soak: load done after {time.monotonic() - started:.0f} s; settling")
        tally = settle(system, items, timeout=300)
        stop.set()
        sampler.join(timeout=sample_seconds + 5)
    finally:
        system.stop()
    figures = _figures(minutes, samples, tally, reads)
    figures["by_kind"] = dict(Counter(f"{i.work.kind}:{i.work.platform}" for i in items.values()))
    log(report(figures))
    return figures


def _configure(urls: dict[str, str]) -> None:
    for key, url in urls.items():
        if key == "sora":
            requests.post(f"{url}/_sim/faults", json=SORA, timeout=5).raise_for_status()
        else:
            config = {"hourly_limit": 10**6, "daily_limit": 10**6, "duration_scale": 20}
            requests.post(f"{url}/_sim/config", json=config, timeout=5).raise_for_status()


def _works(urls: dict[str, str]) -> dict[str, Work]:
    works = {p: Work("dm", p, urls[f"{p}_dm"]) for p in DM_PLATFORMS}
    works["threads"] = Work("comment", "threads", urls["threads_comments"])
    works["sora"] = Work("sora", "sora", urls["sora"])
    return works


def _load(
    system: System,
    works: dict[str, Work],
    items: dict[str, Item],
    until: float,
    pace: float,
    log: Callable[[str], None],
) -> dict[str, int]:
    """Mixed work until `until`: a step every `pace` seconds, in a fixed rotation."""
    browser = _login(system)
    rotation = itertools.cycle(
        ["tiktok", "read", "instagram", "crm", "twitter", "read", "threads", "crm"] * 4 + ["sora"]
    )
    reads = {"dashboard": 0, "api": 0, "crm": 0, "errors": 0}
    for number in itertools.count():
        if time.monotonic() >= until:
            break
        step = next(rotation)
        if step in works:
            task_id, key = works[step].create(system, number, "soak")
            items[task_id] = Item(works[step], key)
        elif step == "crm":
            body = {"platform": "twitter", "username": f"soak{number}", "display_name": "Soak"}
            answer = system.api("POST", "/api/contacts/upsert", json=body)
            reads["crm"] += 1
            reads["errors"] += answer.status_code >= 400
        else:
            for path in ("/api/scheduler/queue", "/api/contacts?limit=20", "/api/stats"):
                reads["errors"] += system.api("GET", path).status_code >= 400
                reads["api"] += 1
            reads["errors"] += browser.get(f"{system.base}/", timeout=10).status_code >= 400
            reads["dashboard"] += 1
        if number % 60 == 0:
            log(f"soak: {len(items)} tasks made, {reads}")
        time.sleep(pace)
    return reads


def _login(system: System) -> requests.Session:
    """A browser's session: the admin login form, as a person signs in."""
    browser = requests.Session()
    page = browser.get(f"{system.base}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    form = {
        "username": "admin",
        "password": ADMIN_PASSWORD,
        "csrfmiddlewaretoken": token.group(1) if token else "",
        "next": "/",
    }
    answer = browser.post(
        f"{system.base}/admin/login/", data=form, headers={"Referer": page.url}, timeout=10
    )
    if "/admin/login/" in answer.url:
        raise RuntimeError("the soak could not log in to the dashboard")
    return browser


# --- memory ------------------------------------------------------------------------------------


def rss_by_process(system: System) -> dict[str, float]:
    """Resident memory (MB) of every process of the system: `<name>:<pid>` for a process the
    harness started (web, workers, dispatcher, simulate), `<name>.child:<pid>` for any process
    below it (the django-q2 cluster under `workers`: its main process, sentinel, monitor,
    pusher and workers)."""
    rss: dict[str, float] = {}
    for name, proc in system.procs.items():
        # By descent, not by process group: the workers' supervisor runs its django-q2
        # cluster (the processes that run the tasks) in a process group of its own.
        family = [(name, proc.pid)] + [(f"{name}.child", pid) for pid in descendants(proc.pid)]
        for label, pid in family:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
            if match:
                rss[f"{label}:{pid}"] = int(match.group(1)) / 1024
    return rss


def _sample(
    system: System,
    samples: dict[str, list[tuple[float, float]]],
    stop: threading.Event,
    every: float,
) -> None:
    started = time.monotonic()
    while not stop.is_set():
        moment = time.monotonic() - started
        for process, mb in rss_by_process(system).items():
            samples.setdefault(process, []).append((moment, mb))
        stop.wait(every)


def slope_mb_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) over the second half of the points, per hour;
    None with fewer than 4 points in that half."""
    half = points[len(points) // 2 :]
    if len(half) < 4:
        return None
    n = len(half)
    mean_t = sum(t for t, _ in half) / n
    mean_m = sum(m for _, m in half) / n
    spread = sum((t - mean_t) ** 2 for t, _ in half)
    if spread == 0:
        return None
    slope = sum((t - mean_t) * (m - mean_m) for t, m in half) / spread
    return slope * 3600


def _figures(
    minutes: float,
    samples: dict[str, list[tuple[float, float]]],
    tally: Tally,
    reads: dict[str, int],
) -> dict[str, Any]:
    processes = {}
    for process, points in sorted(samples.items()):
        slope = slope_mb_per_hour(points)
        processes[process] = {
            "samples": len(points),
            "first_mb": round(points[0][1], 1),
            "last_mb": round(points[-1][1], 1),
            "max_mb": round(max(m for _, m in points), 1),
            "slope_mb_per_hour": None if slope is None else round(slope, 1),
            "verdict": "not judged" if _stands_for_a_service(process) else verdict(points, slope),
        }
    growing = sorted(p for p, row in processes.items() if row["verdict"] == "grows")
    judged = any(row["verdict"] != "too short" for row in processes.values())
    return {
        "minutes": minutes,
        "tasks": tally.tasks,
        "statuses": tally.statuses,
        "duplicates": tally.duplicates,
        "lost": tally.lost,
        "stuck": tally.stuck,
        "blocked_then_decided": tally.blocked,
        "reads": reads,
        "processes": processes,
        "growing": growing,
        "memory_verdict": (
            "too short to judge" if not judged else "GROWS" if growing else "no growth trend"
        ),
        "series": {p: [[round(t), round(m, 1)] for t, m in pts] for p, pts in samples.items()},
        "notes": tally.notes,
    }


def _stands_for_a_service(process: str) -> bool:
    """The simulators stand for the automation services, not for Safari Auto: they keep every
    delivery and conversation by design (the suites count duplicates from them), so their
    memory grows with the work. It is reported, not judged."""
    return process.split(":", 1)[0].split(".", 1)[0] == "simulate"


def verdict(points: list[tuple[float, float]], slope: float | None) -> str:
    """ "grows" when the second half's slope is over GROWTH_LIMIT_MB_PER_HOUR, "flat" when not,
    "too short" when that half spans less than JUDGED_SECONDS (or the process lived briefly)."""
    half = points[len(points) // 2 :]
    if slope is None or half[-1][0] - half[0][0] < JUDGED_SECONDS:
        return "too short"
    return "grows" if slope > GROWTH_LIMIT_MB_PER_HOUR else "flat"


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"soak {figures['minutes']} min: {figures['tasks']} tasks {figures['statuses']}, "
        f"duplicates {figures['duplicates']}, lost {figures['lost']}, stuck {figures['stuck']}, "
        f"blocked then decided {figures['blocked_then_decided']}, reads {figures['reads']}",
        f"work: {figures.get('by_kind', {})}",
        f"{'process':<24} {'samples':>7} {'first MB':>8} {'last MB':>8} {'max MB':>7} "
        f"{'MB/hour (2nd half)':>18} verdict",
    ]
    for process, row in figures["processes"].items():
        slope = "-" if row["slope_mb_per_hour"] is None else f"{row['slope_mb_per_hour']:+.1f}"
        lines.append(
            f"{process:<24} {row['samples']:>7} {row['first_mb']:>8} {row['last_mb']:>8} "
            f"{row['max_mb']:>7} {slope:>18} {row['verdict']}"
        )
    lines.append(
        f"memory: {figures['memory_verdict']} (a process grows above "
        f"{GROWTH_LIMIT_MB_PER_HOUR:g} MB/hour over the second half; growing: "
        f"{', '.join(figures['growing']) or 'none'})"
    )
    return "\n".join(lines)
