"""The pure planning core: no ORM, no clock, no I/O.

Given `now`, the heads of the lanes and the resource state, `plan` decides which tasks start,
why each other head waits, and when the next thing can change. Everything here is plain
functions over frozen dataclasses, so it is tested in milliseconds without a database.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A task's host when no account pins it: the plan picks an online host (Plan.hosts).
ANY_HOST = "any"


@dataclass(frozen=True)
class Candidate:
    """A ready task at (or near) the head of its lane."""

    id: int
    lane: str
    priority: int
    scheduled_for: datetime
    created_at: datetime
    safari_host: str = "local"
    safari_exclusive: bool = False
    platform: str = ""
    account: str = ""
    needs: Mapping[str, int] = field(default_factory=dict)

    @property
    def pinned(self) -> bool:
        return self.safari_host != ANY_HOST

    @property
    def order(self) -> tuple[int, datetime, datetime, int]:
        return (self.priority, self.scheduled_for, self.created_at, self.id)


@dataclass(frozen=True)
class Gate:
    """A counted resource as a probe reported it (send allowance, credits, slots).

    `available` None means unlimited. `ready_at` in the future closes the gate until then;
    a closed gate with no `ready_at` waits for an event (a probe, a refill, a human).
    """

    available: int | None = None
    ready_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class Pauses:
    everything: str | None = None
    platforms: Mapping[str, str] = field(default_factory=dict)
    accounts: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def reason_for(self, platform: str, account: str) -> str | None:
        if self.everything is not None:
            return self.everything
        if platform and platform in self.platforms:
            return self.platforms[platform]
        if platform and (platform, account) in self.accounts:
            return self.accounts[(platform, account)]
        return None


# Priority 1-2 is urgent: it may use the workers kept from ordinary work.
URGENT_PRIORITY = 2

# Each Safari host runs its work on one or two django-q2 clusters ("pools"). With workers
# reserved (SCHEDULER_RESERVED_WORKERS > 0) the main pool is those workers, kept for Safari work
# and urgent tasks, and ordinary work has a pool of its own, where its packages queue ahead of
# its workers. With none reserved, the main pool runs everything.
MAIN_POOL = "main"
ORDINARY_POOL = "ordinary"


def pool_of(*, safari_exclusive: bool, priority: int, reserved_workers: int) -> str:
    """Which of its host's pools runs a task. Urgent work that needs no Safari shares the
    reserved workers only when there are two or more (with one, it is Safari's alone)."""
    if reserved_workers <= 0 or safari_exclusive:
        return MAIN_POOL
    if priority <= URGENT_PRIORITY and reserved_workers >= 2:
        return MAIN_POOL
    return ORDINARY_POOL


@dataclass(frozen=True)
class ResourceState:
    busy_hosts: frozenset[str] = frozenset()
    gates: Mapping[str, Gate] = field(default_factory=dict)
    pauses: Pauses = field(default_factory=Pauses)
    # Packages that may still be sent to the pool with a queue (ordinary work's, or the only
    # one): its packages queue ahead of its workers, up to this many in flight in all.
    free_slots: int = 1_000_000
    # Hosts: every configured host (where unpinned work may go, in order of preference) and
    # the ones whose worker cluster is offline, each with the reason its tasks wait.
    hosts: tuple[str, ...] = ()
    offline_hosts: Mapping[str, str] = field(default_factory=dict)
    # Workers each host keeps for Safari work and urgent tasks (0: none, one pool), and how
    # many of them are taken (tasks scheduled or running there) on each host.
    reserved_workers: int = 0
    reserved_busy: Mapping[str, int] = field(default_factory=dict)
    # Tasks in flight in each host's queued pool (where unpinned ordinary work goes least).
    queued_busy: Mapping[str, int] = field(default_factory=dict)

    def pool_of(self, cand: Candidate) -> str:
        return pool_of(
            safari_exclusive=cand.safari_exclusive,
            priority=cand.priority,
            reserved_workers=self.reserved_workers,
        )

    def takes_reserved(self, cand: Candidate) -> bool:
        """Whether `cand` runs on its host's reserved workers (counted) rather than in a pool
        whose packages queue (counted only in `free_slots`)."""
        return self.reserved_workers > 0 and self.pool_of(cand) == MAIN_POOL


@dataclass(frozen=True)
class Plan:
    start: tuple[int, ...]
    waits: Mapping[int, str]
    next_change: datetime | None
    # The host picked for each unpinned task that starts (the claim writes it on the row).
    hosts: Mapping[int, str] = field(default_factory=dict)


def plan(
    now: datetime,
    candidates: Iterable[Candidate],
    resources: ResourceState,
    *,
    next_due: datetime | None = None,
) -> Plan:
    """Pick what starts now, in priority order, without letting one lane hold up another.

    Within a lane order is kept: once a lane's head waits, the tasks behind it wait too.
    """
    busy = set(resources.busy_hosts)
    remaining = {key: gate.available for key, gate in resources.gates.items()}
    free = resources.free_slots
    loads = dict(resources.reserved_busy)
    start: list[int] = []
    picked: dict[int, str] = {}
    waits: dict[int, str] = {}
    blocked_lanes: dict[str, int] = {}
    wake: list[datetime] = [next_due] if next_due is not None and next_due > now else []

    for cand in sorted(candidates, key=lambda c: c.order):
        if cand.scheduled_for > now:
            wake.append(cand.scheduled_for)
            continue
        if cand.lane in blocked_lanes:
            waits[cand.id] = f"queued behind #{blocked_lanes[cand.lane]} in lane {cand.lane}"
            continue
        queued = not resources.takes_reserved(cand)
        reason = _wait_reason(cand, now, resources, busy, remaining, free if queued else 1, wake)
        host = cand.safari_host
        if reason is None and not cand.pinned:
            # An unpinned task takes a host whose workers it may use, if any does.
            host = pick_host(
                cand,
                resources,
                busy,
                picked.values(),
                accepts=_fits_workers(cand, resources, loads, busy),
            ) or pick_host(cand, resources, busy, picked.values())
        if reason is None:
            reason = worker_wait(cand, resources, loads.get(host, 0), busy, host)
        if reason is not None:
            waits[cand.id] = reason
            blocked_lanes[cand.lane] = cand.id
            continue
        if not cand.pinned:
            picked[cand.id] = host
        start.append(cand.id)
        if queued:
            free -= 1
        else:
            loads[host] = loads.get(host, 0) + 1
        if cand.safari_exclusive:
            busy.add(host)
        for key, amount in cand.needs.items():
            left = remaining.get(key)
            if left is not None:
                remaining[key] = left - amount

    future = [moment for moment in wake if moment > now]
    return Plan(
        start=tuple(start),
        waits=waits,
        next_change=min(future) if future else None,
        hosts=picked,
    )


def _fits_workers(
    cand: Candidate, resources: ResourceState, loads: Mapping[str, int], busy: set[str]
) -> Callable[[str], bool]:
    """Whether `cand` may take a worker on a given host now (`worker_wait`)."""
    return lambda host: worker_wait(cand, resources, loads.get(host, 0), busy, host) is None


def pick_host(
    cand: Candidate,
    resources: ResourceState,
    busy: Iterable[str],
    picked: Iterable[str],
    accepts: Callable[[str], bool] | None = None,
) -> str:
    """Where an unpinned task runs: an online host (its Safari free, if it needs Safari; one
    `accepts`, if given), the one with the fewest tasks in flight in the task's pool plus given
    in this plan, ties by configured order. "" if there is none."""
    busy = set(busy)
    usable = [
        host
        for host in resources.hosts
        if host not in resources.offline_hosts
        and not (cand.safari_exclusive and host in busy)
        and (accepts is None or accepts(host))
    ]
    if not usable:
        return ""
    counts = list(picked)
    load = resources.reserved_busy if resources.takes_reserved(cand) else resources.queued_busy
    return min(
        usable,
        key=lambda host: (counts.count(host) + load.get(host, 0), resources.hosts.index(host)),
    )


def _host_wait_reason(cand: Candidate, resources: ResourceState, busy: set[str]) -> str | None:
    """Why the task's host (or, unpinned, every host) cannot take it now."""
    if cand.pinned:
        if cand.safari_host in resources.offline_hosts:
            return resources.offline_hosts[cand.safari_host]
        if cand.safari_exclusive and cand.safari_host in busy:
            return f"Safari on {cand.safari_host} is busy"
        return None
    if pick_host(cand, resources, busy, ()):
        return None
    online = [host for host in resources.hosts if host not in resources.offline_hosts]
    if not online:
        why = [
            resources.offline_hosts.get(host, f"host {host} unknown") for host in resources.hosts
        ]
        why += [reason for host, reason in resources.offline_hosts.items() if host not in why]
        return "no Safari host online: " + "; ".join(dict.fromkeys(why) or ["none configured"])
    return f"Safari is busy on every online host ({', '.join(online)})"


def _wait_reason(
    cand: Candidate,
    now: datetime,
    resources: ResourceState,
    busy: set[str],
    remaining: Mapping[str, int | None],
    free: int,
    wake: list[datetime],
) -> str | None:
    paused = resources.pauses.reason_for(cand.platform, cand.account)
    if paused is not None:
        return f"paused: {paused}" if paused else "paused"
    held = _host_wait_reason(cand, resources, busy)
    if held is not None:
        return held
    for key, amount in sorted(cand.needs.items()):
        gate = resources.gates.get(key, Gate())
        if gate.ready_at is not None and gate.ready_at > now:
            wake.append(gate.ready_at)
            return gate.reason or f"{key} until {gate.ready_at.isoformat()}"
        left = remaining.get(key)
        if left is not None and left < amount:
            if gate.ready_at is not None and gate.ready_at > now:
                wake.append(gate.ready_at)
            return gate.reason or f"needs {amount} {key}, {max(left, 0)} available"
    if free <= 0:
        return "all workers are busy"
    return None


def worker_wait(
    cand: Candidate,
    resources: ResourceState,
    taken: int,
    busy_hosts: set[str],
    host: str | None = None,
) -> str | None:
    """Why `cand` may not take one of its host's (or `host`'s, for an unpinned one) reserved
    workers now, or None. `taken`: how many of them are scheduled or running.

    Long ordinary work never holds the workers Safari work and urgent tasks need: it runs in a
    pool of its own (`pool_of`), where packages queue ahead of the workers. The reserved ones
    are counted. Safari work may take any free one; with none free it would only queue behind
    the others, so it waits. Urgent work that needs no Safari may take them too, except the
    last free one while the host's Safari is idle: that one is kept for Safari work.
    """
    if not resources.takes_reserved(cand):
        return None  # a queued pool: its packages wait for its workers, as django-q2's do
    host = host or cand.safari_host
    workers = resources.reserved_workers
    free = workers - taken
    if free <= 0:
        return f"waiting: all {workers} workers kept for Safari and urgent work on {host} are busy"
    if cand.safari_exclusive:
        return None
    if free <= 1 and host not in busy_hosts:
        return (
            f"waiting: {taken} of {workers} workers kept for Safari and urgent work on {host} "
            "busy; the last one is kept for Safari work"
        )
    return None


def backoff(retry: int, *, base: float, cap: float, jitter: float) -> timedelta:
    """Exponential backoff for the `retry`-th retry (1-based), capped, with equal jitter.

    `jitter` is a number in [0, 1) the caller draws; the delay lands in [d/2, d).
    """
    exponent = max(retry - 1, 0)
    delay = cap if exponent >= 64 else min(cap, base * (2**exponent))
    return timedelta(seconds=delay * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0)))


@dataclass(frozen=True)
class Window:
    is_open: bool
    opens_at: datetime | None
    closes_at: datetime | None


def active_window(now: datetime, tz: str, start: time, end: time) -> Window:
    """Whether `now` falls inside a daily [start, end) window in zone `tz`, DST-safe.

    A window whose end is before its start runs past midnight. Local times that a DST change
    skips resolve to the instant just after the gap.
    """
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if start == end:
        return Window(True, None, None)
    for day_offset in (-1, 0, 1):
        day = local.date() + timedelta(days=day_offset)
        opens = _local_instant(day, start, zone)
        close_day = day + timedelta(days=1) if end <= start else day
        closes = _local_instant(close_day, end, zone)
        if opens <= now < closes:
            return Window(True, opens, closes)
    for day_offset in (0, 1):
        day = local.date() + timedelta(days=day_offset)
        opens = _local_instant(day, start, zone)
        if opens > now:
            close_day = day + timedelta(days=1) if end <= start else day
            return Window(False, opens, _local_instant(close_day, end, zone))
    raise AssertionError("unreachable: a daily window opens within two days")  # pragma: no cover


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    # Round-trip through UTC to normalise local times inside a DST gap.
    return aware.astimezone(ZoneInfo("UTC")).astimezone(zone)


def lane_positions(task_ids_in_order: Sequence[int]) -> dict[int, int]:
    """How many tasks stand ahead of each task in its lane (computed on read)."""
    return {task_id: index for index, task_id in enumerate(task_ids_in_order)}


# --- Projection: expected start times for the tasks on screen ------------------------------


@dataclass(frozen=True)
class Projection:
    """When a queued task is expected to start, or why that cannot be said (`start` None)."""

    start: datetime | None
    reason: str = ""


def project_starts(
    now: datetime,
    tasks: Sequence[Candidate],
    resources: ResourceState,
    *,
    durations: Mapping[str, timedelta],
    default_duration: timedelta,
    busy_until: Mapping[str, datetime] | None = None,
) -> dict[int, Projection]:
    """Project the queue forward: an estimate of when each pending task starts.

    `tasks` are pending tasks in any order, ready or not (a task still waiting on a
    dependency should not be passed). `durations` maps a lane to how long one of its tasks
    usually runs; `busy_until` maps a Safari host to when its current holder should finish.

    The model follows `plan`: within a lane order is kept; a Safari-exclusive task needs its
    host free; a gate with a `ready_at` opens then, a closed gate without one (or a pause)
    leaves the task, and the lane behind it, without an estimate. Among tasks ready at the
    same moment on one host, priority order wins. Worker slots are assumed plentiful.
    """
    host_free = {host: max(at, now) for host, at in (busy_until or {}).items()}
    for host in resources.busy_hosts:
        host_free.setdefault(host, now)
    lanes: dict[str, list[Candidate]] = {}
    for task in sorted(tasks, key=lambda c: c.order):
        lanes.setdefault(task.lane, []).append(task)

    result: dict[int, Projection] = {}
    # (earliest possible start, order, task, position in lane) of each lane's current head.
    arriving: list[tuple[datetime, tuple[int, datetime, datetime, int], int, str]] = []

    def admit(lane: str, index: int, not_before: datetime) -> None:
        queue = lanes[lane]
        if index >= len(queue):
            return
        task = queue[index]
        earliest, why = _earliest(task, now, resources)
        if earliest is None:
            for later in queue[index:]:
                result[later.id] = Projection(
                    None, why if later is task else f"behind #{task.id}: {why}"
                )
            return
        heapq.heappush(arriving, (max(earliest, not_before), task.order, index, lane))

    for lane in lanes:
        admit(lane, 0, now)

    by_host: dict[str, list[tuple[tuple[int, datetime, datetime, int], int, str]]] = {}
    while arriving or any(by_host.values()):
        # The next moment anything can start: the earliest arrival, or a host freeing up.
        moments = [arriving[0][0]] if arriving else []
        moments += [max(host_free.get(h, now), now) for h, ready in by_host.items() if ready]
        clock = min(moments)
        while arriving and arriving[0][0] <= clock:
            at, order, index, lane = heapq.heappop(arriving)
            task = lanes[lane][index]
            if not task.safari_exclusive:
                result[task.id] = Projection(at)
                admit(lane, index + 1, at)
                continue
            host = task.safari_host if task.pinned else _soonest_host(resources, host_free, now)
            heapq.heappush(by_host.setdefault(host, []), (order, index, lane))
        for host, ready in by_host.items():
            if ready and host_free.get(host, now) <= clock:
                _, index, lane = heapq.heappop(ready)
                task = lanes[lane][index]
                result[task.id] = Projection(clock)
                host_free[host] = clock + durations.get(lane, default_duration)
                admit(lane, index + 1, clock)
    return result


def _soonest_host(
    resources: ResourceState, host_free: Mapping[str, datetime], now: datetime
) -> str:
    """The online host whose Safari frees first (an unpinned task's likely host)."""
    online = [host for host in resources.hosts if host not in resources.offline_hosts]
    return min(online, key=lambda host: (host_free.get(host, now), resources.hosts.index(host)))


def _earliest(
    task: Candidate, now: datetime, resources: ResourceState
) -> tuple[datetime | None, str]:
    paused = resources.pauses.reason_for(task.platform, task.account)
    if paused is not None:
        return None, f"paused: {paused}" if paused else "paused"
    if task.pinned and task.safari_host in resources.offline_hosts:
        return None, resources.offline_hosts[task.safari_host]
    if not task.pinned and not set(resources.hosts) - set(resources.offline_hosts):
        return None, "no Safari host online"
    earliest = max(task.scheduled_for, now)
    for key, amount in sorted(task.needs.items()):
        gate = resources.gates.get(key, Gate())
        if gate.ready_at is not None and gate.ready_at > now:
            earliest = max(earliest, gate.ready_at)
        elif gate.available is not None and gate.available < amount:
            return None, gate.reason or f"needs {amount} {key}, {max(gate.available, 0)} available"
    return earliest, ""
