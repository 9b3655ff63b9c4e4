"""DM benchmark (`manage.py bench dm`): the issue's two "must hold" figures.

1. `simulated_clock`: N DMs across X, TikTok and Instagram run through the real dispatcher
   (planning + the `platform:` gates), runner, handler and ledger, with the process clock
   travelling (time-machine) from one wake-up to the next, against the three DM simulators
   in-process on their `real` profile (slow sends on a busy tab: TikTok 35 s, Instagram 19 s,
   X 10 s, run `DURATION_SCALE` times faster in wall time; 429s without a retry time; X reads
   that never work) with injected faults (429s, TikTok CAPTCHAs, unverified successes; no
   lost answers unless asked). Reports the share that ended blocked for a human.
   Counts limit violations (hourly, daily, gap, active hours), from the simulators' own
   delivery log, and duplicate deliveries. The simulators enforce the same caps on their own
   clock, so a send we let through too early would also come back as a 429.
2. `sigkill`: real processes (daphne, qcluster, dispatcher, `manage.py simulate`); the worker
   is SIGKILLed mid-send K times; blocked sends are counted, then resolved by checking
   `/_sim/sent` ("sent" if delivered, else "resend"). Counts duplicates and lost tasks.

Run on a scratch database (the bench command insists on a name containing "bench").
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.core.management import call_command
from django.test.utils import override_settings

from benchmarks.chaos.runner import kill_worker_mid_call, tab_busy
from dm.accounts import DEFAULT_LIMITS
from harness import System, free_offset, simulator_url

PLATFORMS = ("twitter", "tiktok", "instagram")
DURATION_SCALE = 1000.0  # the simulated sends' real durations, this much faster in wall time
REAL_FAULTS = {"status_429": 0.02, "challenge": 0.01, "unverified": 0.05}
START = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


def run(*, stdout: Any, options: dict[str, Any]) -> dict[str, Any]:
    call_command("migrate", verbosity=0)  # a fresh bench database needs the tables
    quick = bool(options.get("quick"))
    dms = int(options.get("tasks") or (60 if quick else 500))
    figures = {"simulated_clock": simulated_clock(dms=dms, stdout=stdout)}
    figures["sigkill"] = sigkill(kills=5 if quick else 50, stdout=stdout)
    return figures


# --- 1. simulated clock ------------------------------------------------------------------------


def simulated_clock(
    *,
    dms: int,
    stdout: Any = None,
    faults: dict[str, Any] | None = None,
    seed: int = 7,
    profile: str = "real",
) -> dict[str, Any]:
    """Queue `dms` DMs and drive the dispatcher's cycles on a travelling clock until done."""
    import time_machine

    from dm.simulator import InstagramDMSim, SimServer, TikTokDMSim, TwitterDMSim

    rng = random.Random(seed)
    faults = faults if faults is not None else REAL_FAULTS
    options: dict[str, Any] = {"profile": profile, "duration_scale": DURATION_SCALE}
    servers = {
        "twitter": SimServer(TwitterDMSim(rng=random.Random(seed), **options), port=0).start(),
        "tiktok": SimServer(TikTokDMSim(rng=random.Random(seed + 1), **options), port=0).start(),
        "instagram": SimServer(
            InstagramDMSim(rng=random.Random(seed + 2), **options), port=0
        ).start(),
    }
    urls = {**settings.SERVICE_URLS, **{f"{p}_dm": s.url for p, s in servers.items()}}
    try:
        for server in servers.values():
            requests.post(f"{server.url}/_sim/faults", json=faults, timeout=5).raise_for_status()
        with override_settings(
            SERVICE_URLS=urls,
            DM_ACTIVE_START="09:00",
            DM_ACTIVE_END="21:00",
            DM_ACCOUNT_TIME_ZONE="Europe/Berlin",
            DM_LIMITS=[],
        ):
            with time_machine.travel(START, tick=False):
                task_ids = _queue(dms, rng)
            started = time.monotonic()
            cycles, finished_at = _drive(task_ids, servers)
            elapsed = time.monotonic() - started
            figures = _measure(task_ids, servers, cycles, finished_at, elapsed, stdout)
            figures.update(profile=profile, faults=faults)
            return figures
    finally:
        for server in servers.values():
            server.stop()


def _queue(dms: int, rng: random.Random) -> list[int]:
    from dm.services import dm_send

    run_id = f"{rng.randrange(10**6):06d}"
    ids = []
    for number in range(dms):
        platform = PLATFORMS[number % 3]
        task, _ = dm_send(
            platform=platform,
            username=f"bench{run_id}_{number}",
            text=f"Hello #{number} from the bench",
            priority=rng.choice([2, 3, 3, 4]),
        )
        ids.append(task.pk)
    return ids


def _drive(task_ids: list[int], servers: dict[str, Any]) -> tuple[int, datetime]:
    """Cycle at each wake-up the plan names; resolve blocked sends by looking at /_sim/sent."""
    import time_machine

    from scheduler.dispatcher import Dispatcher
    from scheduler.models import Task
    from scheduler.runner import run as run_task

    def inline(task_id: int, attempt: int, kind: str, host: str) -> None:
        run_task(task_id, attempt)

    dispatcher = Dispatcher(name="bench", enqueue_fn=inline)
    now, cycles = START, 0
    while cycles < 200_000:
        with time_machine.travel(now, tick=False):
            result = dispatcher.cycle(now)
            cycles += 1
            left = Task.objects.filter(pk__in=task_ids).exclude(
                status__in=["completed", "failed", "cancelled"]
            )
            if not left.exists():
                return cycles, now
            if not result.start and left.filter(status="blocked").count() == left.count():
                _resolve_blocked(left, servers)
        following = result.next_change or now + timedelta(minutes=1)
        now = max(following, now + timedelta(seconds=1)) if not result.start else now
    raise RuntimeError("the simulated run did not finish")


def _resolve_blocked(blocked: Iterable[Any], servers: dict[str, Any]) -> None:
    from scheduler.services import task_decide

    for task in blocked:
        delivered = {
            d["username"]
            for d in requests.get(f"{servers[task.platform].url}/_sim/sent", timeout=5).json()
        }
        was_sent = task.payload["username"] in delivered
        task_decide(task_id=task.pk, decision="sent" if was_sent else "resend", note="bench")


def _measure(
    task_ids: list[int],
    servers: dict[str, Any],
    cycles: int,
    finished_at: datetime,
    elapsed: float,
    stdout: Any,
) -> dict[str, Any]:
    from dm.models import SendLedger
    from scheduler.models import Event, Task

    statuses = Counter(Task.objects.filter(pk__in=task_ids).values_list("status", flat=True))
    mine = {
        name
        for name in Task.objects.filter(pk__in=task_ids).values_list("payload__username", flat=True)
    }
    blocked_tasks = (
        Event.objects.filter(task_id__in=task_ids, kind="task.blocked")
        .values("task_id")
        .distinct()
        .count()
    )
    blocked = Event.objects.filter(task_id__in=task_ids, kind="task.blocked").count()
    deferred = Event.objects.filter(task_id__in=task_ids, kind="task.deferred").count()
    figures: dict[str, Any] = {
        "dms": len(task_ids),
        "statuses": dict(statuses),
        "cycles": cycles,
        "simulated_days": round((finished_at - START).total_seconds() / 86400, 2),
        "wall_seconds": round(elapsed, 1),
        "blocked_then_resolved": blocked,
        "blocked_share_pct": round(100 * blocked_tasks / max(len(task_ids), 1), 2),
        "captchas": Event.objects.filter(
            task_id__in=task_ids, kind="task.deferred", message__icontains="captcha"
        ).count(),
        "deferred": deferred,
        "ledger_sent": SendLedger.objects.filter(task_id__in=task_ids, state="sent").count(),
        "platforms": {},
    }
    violations = duplicates = 0
    for platform, server in servers.items():
        sent = [
            d for d in requests.get(f"{server.url}/_sim/sent", timeout=5).json()
            if d["username"] in mine
        ]  # fmt: skip
        times = sorted(datetime.fromisoformat(d["time"].replace("Z", "+00:00")) for d in sent)
        counts = Counter(d["username"] for d in sent)
        dupes = sum(n - 1 for n in counts.values() if n > 1)
        broken = limit_violations(platform, times)
        figures["platforms"][platform] = {
            "delivered": len(sent),
            "duplicates": dupes,
            "violations": broken,
        }
        violations += sum(broken.values())
        duplicates += dupes
    figures["limit_violations"] = violations
    figures["duplicate_deliveries"] = duplicates
    figures["lost"] = len(mine) - sum(p["delivered"] for p in figures["platforms"].values())
    if stdout is not None:
        stdout.write(f"simulated clock: {figures}\n")
    return figures


def limit_violations(
    platform: str, times: list[datetime], *, tz: str = "Europe/Berlin"
) -> dict[str, int]:
    """Check delivery times against the CONTRACTS.md limits: rolling hour and day, the gap,
    and 09:00-21:00 in the account's zone."""
    caps = DEFAULT_LIMITS[(platform, "dm")]
    zone = ZoneInfo(tz)
    broken = {"hourly": 0, "daily": 0, "gap": 0, "active_hours": 0}
    for index, moment in enumerate(times):
        hour = [t for t in times[: index + 1] if t > moment - timedelta(hours=1)]
        day = [t for t in times[: index + 1] if t > moment - timedelta(hours=24)]
        broken["hourly"] += len(hour) > caps.hourly
        broken["daily"] += len(day) > caps.daily
        # The gap is measured between send starts; deliveries land a moment later, so allow
        # the request's own latency (a second) below the minimum.
        if index and (moment - times[index - 1]).total_seconds() < caps.min_gap - 1:
            broken["gap"] += 1
        local = moment.astimezone(zone)
        broken["active_hours"] += not (9 <= local.hour < 21)
    return broken


# --- 2. SIGKILLs with real processes ------------------------------------------------------------


def sigkill(
    *,
    kills: int,
    stdout: Any = None,
    tasks: int | None = None,
    tmp: Path | None = None,
    platforms: tuple[str, ...] = PLATFORMS,
) -> dict[str, Any]:
    """Kill the worker mid-send `kills` times; count duplicates, lost and blocked tasks, and
    check that every interrupted send was verified by a trustworthy read or blocked."""
    tmp = tmp or Path(tempfile.mkdtemp(prefix="dm-bench-"))
    keys = [f"{p}_dm" for p in PLATFORMS]  # all three served, as the probes reach each
    offset = free_offset(keys)
    sims = {p: simulator_url(f"{p}_dm", offset) for p in platforms}
    env = {
        **{f"{p.upper()}_DM_URL": simulator_url(f"{p}_dm", offset) for p in PLATFORMS},
        "DM_ACTIVE_START": "00:00",
        "DM_ACTIVE_END": "00:00",
        "DM_LIMITS": "twitter:dm=100000/100000/0-1,tiktok:dm=100000/100000/0-1,"
        "instagram:dm=100000/100000/0-1",
        "DM_SEND_MAX_RETRIES": "8",
        "Q_WORKERS": "1",
        "SIM_PROFILE": "real",
    }
    system = System(tmp, environ=env)
    try:
        system.start_all()
        system.start_simulators(keys, offset, "--reply-probability", "0")
        for url in sims.values():
            requests.post(f"{url}/_sim/reset", timeout=5)
            # The real profile's send durations, 20x faster: TikTok 1.75 s, Instagram 0.95 s,
            # X 0.5 s, so that a kill lands inside the send (the service goes on typing).
            requests.post(
                f"{url}/_sim/config",
                json={"hourly_limit": 10**6, "daily_limit": 10**6, "duration_scale": 20},
                timeout=5,
            )
        count = tasks or max(kills * 2, 6)
        ids = [
            system.api(
                "POST",
                "/api/dm/send",
                json={
                    "platform": platforms[n % len(platforms)],
                    "username": f"k{n}",
                    "text": f"kill #{n}",
                },
            ).json()["taskId"]
            for n in range(count)
        ]
        done = _kill_loop(system, ids, kills, tab_busy(*sims.values()))
        blocked = _wait_quiet(system, ids)
        resolved = _resolve_over_http(system, ids, sims)
        _wait_quiet(system, ids, allow_blocked=False)
        figures = _count(system, ids, sims, done, blocked, resolved)
        figures["interrupted"] = _interrupted(system)
    finally:
        system.stop()
    if stdout is not None:
        stdout.write(f"sigkill: {figures}\n")
    return figures


def _kill_loop(system: System, ids: list[str], kills: int, busy: Callable[[], bool]) -> int:
    """SIGKILL the worker running a send, `kills` times, at a random moment of the send.

    Only inside the send (it lasts 0.5-1.75 s): a worker killed while idle in django-q2's
    queue read would leave that queue's lock held for good (the chaos suite's idle-worker
    fault)."""
    rng = random.Random(11)
    done, deadline = 0, time.monotonic() + 60 + kills * 15
    while done < kills and time.monotonic() < deadline:
        hit = kill_worker_mid_call(system, "dm", rng=rng, inside=(0, 0.6), timeout=2, busy=busy)
        if hit is None:
            if _all_final(system, ids):
                break
            continue
        done += 1
        time.sleep(0.3)
    return done


def _all_final(system: System, ids: list[str]) -> bool:
    state = system.api("GET", "/api/scheduler/status").json()
    return bool(state["tasksInQueue"] == state["tasksBlocked"] and not state["tasksRunning"])


def _wait_quiet(system: System, ids: list[str], *, allow_blocked: bool = True) -> int:
    """Wait until every task is final (or blocked); returns how many are blocked."""
    ends = {"completed", "failed", "cancelled"} | ({"blocked"} if allow_blocked else set())
    system.wait_for(
        lambda: all(system.task(i)["status"] in ends for i in ids), 240, "the sends to settle"
    )
    return sum(system.task(i)["status"] == "blocked" for i in ids)


# Run inside the system (manage.py shell): how each send that went "unknown" (its worker was
# killed mid-send) ended: verified by a trustworthy read, found not sent by one, or blocked.
_INTERRUPTED = """
import json
from scheduler.models import Event
keys = set(Event.objects.filter(kind="send.unknown").values_list("subject_id", flat=True))
ends = {"verified": 0, "not_sent": 0, "blocked": 0, "unaccounted": 0}
for key in keys:
    later = Event.objects.filter(subject_id=key).order_by("id")
    if later.filter(kind="send.sent", data__how="verified").exists():
        ends["verified"] += 1
    elif later.filter(kind="send.blocked").exists():
        ends["blocked"] += 1
    elif later.filter(kind="send.failed", message__contains="trustworthy read").exists():
        ends["not_sent"] += 1
    else:
        ends["unaccounted"] += 1
print(json.dumps({"unknown": len(keys), **ends}))
"""


def _interrupted(system: System) -> dict[str, int]:
    import json

    out = system.manage("shell", "-c", _INTERRUPTED)
    return dict(json.loads(out.strip().splitlines()[-1]))


def _resolve_over_http(system: System, ids: list[str], sims: dict[str, str]) -> dict[str, int]:
    delivered = {p: [d["username"] for d in _sent(url)] for p, url in sims.items()}
    resolved = {"sent": 0, "resend": 0}
    for task_id in ids:
        task = system.task(task_id)
        if task["status"] != "blocked":
            continue
        decision = (
            "sent" if task["payload"]["username"] in delivered[task["platform"]] else "resend"
        )
        answer = system.api("POST", f"/api/dm/sends/{task_id}/decide", json={"decision": decision})
        if answer.status_code != 200:
            raise RuntimeError(f"deciding task {task_id}: {answer.status_code} {answer.text}")
        resolved[decision] += 1
    return resolved


def _sent(url: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{url}/_sim/sent", timeout=5).json())


def _count(
    system: System,
    ids: list[str],
    sims: dict[str, str],
    kills: int,
    blocked: int,
    resolved: dict[str, int],
) -> dict[str, Any]:
    tasks = [system.task(i) for i in ids]
    delivered = Counter(
        (p, d["username"]) for p, url in sims.items() for d in _sent(url)
    )  # fmt: skip
    wanted = {(t["platform"], t["payload"]["username"]) for t in tasks}
    return {
        "tasks": len(ids),
        "kills": kills,
        "statuses": dict(Counter(t["status"] for t in tasks)),
        "retries": sum(t["retryCount"] for t in tasks),
        "blocked": blocked,
        "resolved": resolved,
        "duplicates": sum(n - 1 for key, n in delivered.items() if key in wanted and n > 1),
        "lost": sum(1 for key in wanted if delivered[key] == 0),
        # Calls that reached a service's Safari tab while a send drove it (real profile).
        "overlaps": sum(
            len(requests.get(f"{url}/_sim/tab", timeout=5).json()["overlaps"])
            for url in sims.values()
        ),
    }
