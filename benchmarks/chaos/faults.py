"""The chaos suite's faults, each on a system of its own started for real (`harness.System`).

| name | what one round does |
|---|---|
| worker-dm-{tiktok,instagram,twitter} | SIGKILL the worker inside a DM send |
| worker-comment | SIGKILL the worker inside a comment post (Threads) |
| worker-sora | SIGKILL the worker during a Sora part (submit or generation) |
| dispatcher-leader | SIGKILL the leading dispatcher; the standby must take over |
| restart-all-trilogy | SIGKILL daphne, workers and dispatcher mid-trilogy, start them again |
| simulator-drop | SIGKILL the DM simulator inside a send, start it again on its port |
| idle-worker | SIGKILL the idle worker holding django-q2's queue lock (#23): the supervisor |
|   | must restart the frozen cluster |
| host-cluster | two Safari hosts: SIGKILL one host's whole workers process tree inside a DM |
|   | send, start it again |

Another fault is one more `Fault` subclass in `FAULTS` (the runner needs nothing else).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.chaos.runner import (
    FINAL,
    Fault,
    Tally,
    ended_before,
    kill_worker_mid_call,
    running_pid,
    sigkill,
    sigkill_group,
    sigkill_tree,
    wait_recovered,
    wait_settled,
    worker_pids,
)
from benchmarks.chaos.work import DM_PLATFORMS, Item, Work, settle
from harness import System, free_offset, simulator_url
from scheduler.planning import pool_of

# Short leases, a quick reaper: a round takes seconds. Limits out of the way: chaos is not
# about pacing, and a kill must find a send to hit.
ENV = {
    "DM_ACTIVE_START": "00:00",
    "DM_ACTIVE_END": "00:00",
    "DM_LIMITS": ",".join(
        f"{p}:{a}=100000/100000/0-0" for p in (*DM_PLATFORMS, "threads") for a in ("dm", "comment")
    ),
    "DM_SEND_MAX_RETRIES": "8",
    "SCHEDULER_DEFAULT_MAX_RETRIES": "8",
    # The workers run as deployed: two pools per host, `SCHEDULER_RESERVED_WORKERS` (2) for
    # Safari work and urgent tasks, `Q_WORKERS` (harness FAST: 2) for ordinary work. A kill
    # finds its task's worker in the task's result (the runner notes it at the start).
    "SORA_POLL_SECONDS": "0.2",
}
NO_CAPS = {"hourly_limit": 10**6, "daily_limit": 10**6, "reply_probability": 0}
DM_KEYS = [f"{p}_dm" for p in DM_PLATFORMS]
RECOVERY_BOUND = 60.0  # seconds a round waits for recovery before it counts as not recovered
SETTLE_BOUND = 240.0


class SimulatedWork(Fault):
    """A system with the simulators `keys` (in one `manage.py simulate`), work on one of them
    (`work_key`), and the settle step every fault of this kind shares."""

    keys: tuple[str, ...] = tuple(DM_KEYS)
    work_key = "twitter_dm"
    sim_args: tuple[str, ...] = ("--reply-probability", "0")
    env: dict[str, str] = {}
    sim_config: dict[str, Any] = {"duration_scale": 20}

    def start(self) -> None:
        self.offset = free_offset(self.keys)
        urls = {k: simulator_url(k, self.offset) for k in self.keys}
        env = {**ENV, **self.env, "SIM_JOURNAL_DIR": str(self.tmp / "journal")}
        env.update({_env_name(k): url for k, url in urls.items()})
        self.system = System(self.tmp, environ=env)
        self.ids: list[str] = []
        self.items: dict[str, Item] = {}
        kind, platform = _kind(self.work_key)
        self.work = Work(kind, platform, urls[self.work_key])
        self.start_simulators(reset=True)  # up before the first health probes
        self.start_system()
        if "sora" in self.keys:
            self.sys.manage("sora", "check")  # a first credit reading: parts can start

    def start_system(self) -> None:
        self.sys.start_all()

    def start_simulators(self, *, reset: bool) -> None:
        self.sys.start_simulators(self.keys, self.offset, *self.sim_args)
        for key in self.keys:
            url = simulator_url(key, self.offset)
            if reset:
                requests.post(f"{url}/_sim/reset", timeout=5)
            if key == "sora":
                requests.post(f"{url}/_sim/faults", json=SORA_FAULTS, timeout=5)
            else:
                config = {**NO_CAPS, **self.sim_config}
                requests.post(f"{url}/_sim/config", json=config, timeout=5)

    def create(self, number: int) -> str:
        task_id, key = self.work.create(self.sys, number, self.name.replace("-", "")[:10])
        self.ids.append(task_id)
        self.items[task_id] = Item(self.work, key)
        return task_id

    # Counters a fault keeps of its rounds (attribute: note), each noted when above zero.
    counted: dict[str, str] = {}

    def settle(self) -> Tally:
        tally = settle(self.sys, self.items, timeout=SETTLE_BOUND)
        for name, note in self.counted.items():
            if count := getattr(self, name):
                tally.notes.append(note.format(count))
        return tally


class WorkerMidCall(SimulatedWork):
    """SIGKILL the worker inside the call of one task; one task per round."""

    inside: tuple[float, float] = (0.0, 0.6)
    missed = 0

    def inject(self, number: int) -> float | None:
        task_id = self.create(number)
        hit = kill_worker_mid_call(
            self.sys,
            self.work.task_type,
            rng=self.rng,
            inside=self.inside,
            task_id=task_id,
            busy=self.work.busy,
        )
        if hit is None:  # it ended before the kill landed: a round without a fault
            return self.inject_again(number)
        if ended_before(self.sys, task_id, hit[1]):
            # The task ended between the last look and the kill: the kill hit an idle
            # worker, which may freeze its cluster (django-q2 #23, the idle-worker fault's
            # subject, not this fault's). Start the cluster again and redo the round.
            self.missed += 1
            sigkill_group(self.sys, "workers")
            self.sys.start_workers()
            return self.inject_again(number)
        return wait_recovered(self.sys, task_id, hit[1], timeout=RECOVERY_BOUND)

    def inject_again(self, number: int) -> float | None:
        wait_settled(self.sys, self.ids, SETTLE_BOUND)
        return self.inject(number + 10_000)

    counted = {
        "missed": "{} kill(s) landed just after the task ended (an idle worker): "
        "cluster restarted, round redone"
    }


class WorkerDM(WorkerMidCall):
    about = "SIGKILL the worker inside a DM send"

    def __init__(self, tmp: Path, *, platform: str, seed: int = 1) -> None:
        super().__init__(tmp, seed=seed)
        self.name = f"worker-dm-{platform}"
        self.work_key = f"{platform}_dm"
        # A send lasts TikTok 1.75 s, Instagram 0.95 s, X 0.5 s at duration scale 20; it is
        # delivered at 80 % of it: kills land before and after the delivery.
        self.inside = (0.0, {"tiktok": 1.6, "instagram": 0.9, "twitter": 0.45}[platform])


class WorkerComment(WorkerMidCall):
    name = "worker-comment"
    about = "SIGKILL the worker inside a comment post (Threads)"
    keys = (*DM_KEYS, "threads_comments")
    work_key = "threads_comments"
    env = {"SIM_TIME_SCALE": "4"}  # a post takes 1.25-3 s
    inside = (0.1, 1.0)


SORA_FAULTS = {
    "profile": "kind",
    "set_credits": {"free": 100_000, "paid": 0},
    # The service's 30 videos a day would refuse round 11 of a trilogy fault (its parts
    # deferred for hours): out of the way, as the DM limits.
    "daily_limit": 100_000,
    "generation_seconds": 1.5,
}


class WorkerSora(WorkerMidCall):
    name = "worker-sora"
    about = "SIGKILL the worker during a Sora part (its submit or its generation)"
    keys = (*DM_KEYS, "sora")
    work_key = "sora"
    inside = (0.0, 1.2)


class DispatcherLeader(SimulatedWork):
    name = "dispatcher-leader"
    about = "SIGKILL the leading dispatcher; a standby takes over"
    work_key = "twitter_dm"

    def start_system(self) -> None:
        self.sys.start_all()  # "dispatcher"
        self.sys.start_dispatcher("standby")

    def inject(self, number: int) -> float | None:
        system = self.sys
        leader = system.wait_for(
            lambda: system.api("GET", "/api/scheduler/status").json().get("leader"),
            30,
            "a leader",
        )
        sigkill_group(system, leader)
        killed = time.monotonic()
        task_id = self.create(number)  # the next task: only a new leader can start it
        took = wait_recovered(system, task_id, killed, timeout=RECOVERY_BOUND)
        system.start_dispatcher(leader)  # back as the standby, ready before the next round
        system.wait_for(lambda: "starting" in system.log(leader), 60, f"{leader} to start")
        wait_settled(system, [task_id], SETTLE_BOUND)
        return took


class RestartAllTrilogy(SimulatedWork):
    name = "restart-all-trilogy"
    about = "SIGKILL daphne, the workers and the dispatcher mid-trilogy; start them again"
    keys = (*DM_KEYS, "sora")
    work_key = "sora"
    PROCESSES = ("web", "workers", "dispatcher")

    def start(self) -> None:
        super().start()
        self.trilogies = self.tmp / "chaos-trilogies.json"

    def inject(self, number: int) -> float | None:
        system = self.sys
        ids = self._queue_trilogy(number)
        part = ids[self.rng.randrange(2)]  # kill during part 1 or part 2
        system.wait_for(lambda: running_pid(system, "sora", part)[1], 60, f"{part} to run")
        time.sleep(self.rng.uniform(0, 1.2))
        for name in self.PROCESSES:
            sigkill_group(system, name)
        killed = time.monotonic()
        system.start_web()
        system.start_workers()
        system.start_dispatcher()
        later = ids[ids.index(part) :]
        took = _first_recovery(system, later, killed)
        wait_settled(system, ids, SETTLE_BOUND)
        return took

    def _queue_trilogy(self, number: int) -> list[str]:
        trilogy_id = f"chaos_{number}"
        parts = [
            {"part": p, "title": f"Part {p}", "stage": stage, "prompt": f"{trilogy_id} part {p}"}
            for p, stage in ((1, "setup"), (2, "confrontation"), (3, "resolution"))
        ]
        document = {
            "character": "Kai",
            "trilogies": [{"id": trilogy_id, "title": trilogy_id, "theme": "t", "videos": parts}],
        }
        self.trilogies.write_text(json.dumps(document))
        self.sys.manage("sora", "import", str(self.trilogies))
        answer = self.sys.api("POST", "/api/sora/queue-trilogy", json={"trilogyId": trilogy_id})
        if answer.status_code != 201:
            raise RuntimeError(f"queue-trilogy: {answer.status_code} {answer.text}")
        ids = [str(i) for i in answer.json()["taskIds"]]
        for p, task_id in enumerate(ids, start=1):
            self.ids.append(task_id)
            self.items[task_id] = Item(self.work, f"{trilogy_id} part {p}")
        return ids


class SimulatorDrop(SimulatedWork):
    name = "simulator-drop"
    about = "SIGKILL the DM simulator inside a send; start it again on the same port"
    work_key = "tiktok_dm"

    def inject(self, number: int) -> float | None:
        system = self.sys
        task_id = self.create(number)
        deadline = time.monotonic() + 60
        while not (running_pid(system, "dm", task_id)[1] and self.work.busy()):
            if time.monotonic() > deadline or system.task(task_id)["status"] in FINAL:
                return self._no_fault(task_id)
            time.sleep(0.02)
        time.sleep(self.rng.uniform(0, 1.6))  # a TikTok send lasts 1.75 s here
        sigkill_group(system, "simulate")
        killed = time.monotonic()
        time.sleep(self.rng.uniform(0.2, 1.0))  # the service is down a moment
        self.start_simulators(reset=False)
        took = wait_recovered(system, task_id, killed, timeout=RECOVERY_BOUND, next_start=False)
        wait_settled(system, [task_id], SETTLE_BOUND)
        return took

    def _no_fault(self, task_id: str) -> float | None:
        wait_settled(self.sys, [task_id], SETTLE_BOUND)
        return None


class IdleWorker(SimulatedWork):
    """django-q2 #23: a worker SIGKILLed while idle in the task queue's read dies holding the
    queue's lock; the cluster then starts nothing it is sent. The workers' supervisor
    (`manage.py workers`) must see the cluster frozen (FREEZE_SECONDS, 3 s here) and start it
    again. Each round kills, in the pool that runs the round's work (a DM needs Safari: the
    main pool's reserved workers, `planning.pool_of`), the worker that holds that cluster's
    lock (the one inside read(2), from /proc; a random idle one where /proc does not say),
    then queues a DM: it must start within FREEZE_BOUND. A round that did not recover restarts
    the workers so the next round means something (that restart is the suite's, counted as
    not recovered)."""

    name = "idle-worker"
    about = "SIGKILL the idle worker holding django-q2's queue lock; the supervisor recovers"
    env = {"Q_LOG_LEVEL": "INFO"}  # "ready for work at PID": which processes are workers
    work_key = "twitter_dm"

    @property
    def pool(self) -> str:
        """The pool the round's DM goes to (it needs Safari), as the planner picks it."""
        reserved = int(self.sys.env.get("SCHEDULER_RESERVED_WORKERS", "2"))
        return pool_of(safari_exclusive=True, priority=3, reserved_workers=reserved)

    # FREEZE_SECONDS (3) and a beat to see the freeze, the frozen cluster's stop, a cold start
    # of a new one on a loaded machine.
    FREEZE_BOUND = 30.0
    READ_SYSCALLS = ("0", "63")  # read(2) on x86_64 and arm64
    guessed = 0

    def inject(self, number: int) -> float | None:
        system = self.sys
        time.sleep(0.5)  # idle: nothing queued, every worker waits in the queue's read
        pids = system.wait_for(self._idle_workers, 60, f"the {self.pool} pool's idle workers")
        self._healthy(pids)
        holders: list[int] = []
        deadline = time.monotonic() + 5  # a worker that just took a task reads again soon
        while not holders and time.monotonic() < deadline:
            holders = [pid for pid in pids if _syscall(pid) in self.READ_SYSCALLS]
            time.sleep(0 if holders else 0.05)
        if not holders:
            self.guessed += 1
        if not sigkill(self.rng.choice(holders or pids)):
            raise RuntimeError("no idle worker found to kill")
        killed = time.monotonic()
        task_id = self.create(number)
        took = wait_recovered(system, task_id, killed, timeout=self.FREEZE_BOUND)
        if took is None:  # still frozen: the suite restarts the workers for the next round
            sigkill_tree(system, "workers")
            system.start_workers()
        wait_settled(system, [task_id], SETTLE_BOUND)
        return took

    def _healthy(self, pids: list[int]) -> None:
        """Wait until the clusters have run long enough to count as healthy to their
        supervisor (HEALTHY_AFTER_SECONDS), so each round is one freeze of a healthy cluster.
        Rounds that come sooner are a cluster that keeps failing: the supervisor backs off
        (1, 2, 4 … s, at most 30) and by the sixth quick round outwaits FREEZE_BOUND."""
        from scheduler.supervisor import HEALTHY_AFTER_SECONDS

        time.sleep(max(HEALTHY_AFTER_SECONDS + 0.5 - min(_age(pid) for pid in pids), 0.0))

    def _idle_workers(self) -> list[int] | None:
        """The pool's workers, once every one is up (after a restart, a cold start)."""
        live = worker_pids(self.sys, pool=self.pool)
        return live if len(live) == self.sys.pool_workers(self.pool) else None

    counted = {
        "guessed": "{} round(s) killed a random idle worker: /proc did not show "
        "which one held the queue's lock"
    }


def _age(pid: int) -> float:
    """Seconds since `pid` started (Linux /proc); 0 if it is gone."""
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return uptime - started / os.sysconf("SC_CLK_TCK")


def _syscall(pid: int) -> str:
    """The number of the system call `pid` waits in (Linux /proc), or "" if unknown."""
    try:
        return Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        return ""


class HostCluster(SimulatedWork):
    """Two Safari hosts (`studio`, `laptop`), each a `manage.py workers` supervisor and its
    django-q2 cluster, on one SQLite database (the same machine, as the other faults): SIGKILL
    laptop's whole process tree inside a TikTok DM send pinned to it (a Mac that loses power:
    nobody signs off), queue a DM on studio meanwhile, and start laptop's workers again at once.
    Its new supervisor finds the old one dead and recovers the host's work (the interrupted
    send is verified before any resend) instead of waiting for the heartbeat timeout or the
    claim lease, which are production's here (30 s and 120 s). Recovery: until laptop's hit
    task runs again (Safari busy again) or ends or waits for a human."""

    name = "host-cluster"
    about = "SIGKILL one Safari host's whole worker tree inside a DM send; start it again"
    HOSTS = ("studio", "laptop")
    work_key = "tiktok_dm"
    env = {
        "SAFARI_HOSTS": ",".join(HOSTS),
        "SAFARI_HOST": HOSTS[0],
        "SCHEDULER_HOST_LEASE_SECONDS": "4",
        "SCHEDULER_HEARTBEAT_TIMEOUT_SECONDS": "30",
        "SCHEDULER_CLAIM_LEASE_SECONDS": "120",
        "PROBE_ON_LEAD": "false",  # no probe tasks on the hosts beside the rounds' work
    }
    inside = (0.0, 1.6)  # a TikTok send lasts 1.75 s at duration scale 20
    missed = 0

    def start_system(self) -> None:
        system = self.sys
        system.setup()
        system.start_web()
        for host in self.HOSTS:
            self.start_host(host)
        system.start_dispatcher()
        system.wait_for(self._both_online, 60, "both hosts online")

    def start_host(self, host: str) -> None:
        """`manage.py workers` for `host` (`env` execs: its pid is the supervisor's)."""
        self.sys.spawn(
            f"workers-{host}", "env", f"SAFARI_HOST={host}", sys.executable, "manage.py", "workers"
        )

    def _both_online(self) -> bool:
        status = self.sys.api("GET", "/api/scheduler/status").json()
        states = {h["host"]: h["state"] for h in status.get("safariHosts", [])}
        return all(states.get(host) == "online" for host in self.HOSTS)

    def create_on(self, number: int, host: str) -> str:
        task_id, key = self.work.create(self.sys, number, f"host{host}", host=host)
        self.ids.append(task_id)
        self.items[task_id] = Item(self.work, key)
        return task_id

    def inject(self, number: int) -> float | None:
        system = self.sys
        task_id = self.create_on(number, "laptop")
        deadline = time.monotonic() + RECOVERY_BOUND
        while not (running_pid(system, "dm", task_id)[1] and self.work.busy()):
            if time.monotonic() > deadline or system.task(task_id)["status"] in FINAL:
                return self._again(number)  # it never ran inside the call: no fault
            time.sleep(0.02)
        time.sleep(self.rng.uniform(*self.inside))
        if system.task(task_id)["status"] != "running":
            return self._again(number)
        sigkill_tree(system, "workers-laptop")
        killed = time.monotonic()
        if ended_before(system, task_id, killed):  # the send ended first: no fault
            self.start_host("laptop")
            return self._again(number)
        self.create_on(number, "studio")  # the other host works on meanwhile
        self.start_host("laptop")
        took = wait_recovered(system, task_id, killed, timeout=RECOVERY_BOUND)
        wait_settled(system, self.ids, SETTLE_BOUND)
        return took

    def _again(self, number: int) -> float | None:
        self.missed += 1
        wait_settled(self.sys, self.ids, SETTLE_BOUND)
        if self.missed > 50:
            raise RuntimeError(f"{self.name}: 50 rounds ended before the kill landed")
        return self.inject(number + 10_000)

    counted = {"missed": "{} round(s) redone: the send ended before the kill"}


def _first_recovery(system: System, ids: list[str], killed: float) -> float | None:
    """The first of `ids` to run again (or end) after the kill."""
    deadline = killed + RECOVERY_BOUND
    for task_id in ids:
        took = wait_recovered(system, task_id, killed, timeout=max(deadline - time.monotonic(), 1))
        if took is not None:
            return took
    return None


def _env_name(key: str) -> str:
    from safari_auto.demo import SERVICES

    return SERVICES[key][0]


def _kind(key: str) -> tuple[str, str]:
    if key == "sora":
        return "sora", "sora"
    platform, kind = key.rsplit("_", 1)
    return ("dm" if kind == "dm" else "comment"), platform


def build(name: str, tmp: Path, *, seed: int = 1) -> Fault:
    if name.startswith("worker-dm-"):
        return WorkerDM(tmp, platform=name.removeprefix("worker-dm-"), seed=seed)
    return FAULTS[name](tmp, seed=seed)


FAULTS: dict[str, type[Fault]] = {
    "worker-comment": WorkerComment,
    "worker-sora": WorkerSora,
    "dispatcher-leader": DispatcherLeader,
    "restart-all-trilogy": RestartAllTrilogy,
    "simulator-drop": SimulatorDrop,
    "idle-worker": IdleWorker,
    "host-cluster": HostCluster,
}
NAMES = [*(f"worker-dm-{p}" for p in DM_PLATFORMS), *FAULTS]
