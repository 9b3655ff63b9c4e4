"""The dispatcher: the imperative shell around the pure planning core.

One loop per process; one process leads (a lease in SchedulerState), the others stand by.
Each cycle: renew the lease, reap expired leases, load lane heads and resource state, plan,
claim by conditional update, enqueue to django-q2 after commit, then sleep until the next
change or a waking event row. On Postgres a notification (`scheduler.wakeups`) ends the sleep
the moment such a row commits, and a slow poll stays as the safety net; on SQLite it polls.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scheduler import events, hosts, recovery, registry, wakeups
from scheduler.inflight import InFlight, in_flight, in_status
from scheduler.lifecycle import S
from scheduler.models import Event, Lane, Pause, PauseScope, SchedulerState, Task, TaskStatus
from scheduler.packages import PackageBatch, broker_for, cluster_for, enqueue
from scheduler.planning import (
    ANY_HOST,
    MAIN_POOL,
    Candidate,
    Pauses,
    Plan,
    ResourceState,
    plan,
    pool_of,
)
from scheduler.store import Claim, get_store

logger = logging.getLogger(__name__)

HEAD_FIELDS = (
    "id",
    "lane",
    "type",
    "priority",
    "scheduled_for",
    "created_at",
    "safari_host",
    "req_safari_exclusive",
    "req_sora_credits",
    "req_platform",
    "platform",
    "account",
    "attempt",  # a type's needs may depend on whether the task has run (Sora admission)
)
TIMES = ("scheduled_for", "created_at")
# SQLite allows 500 terms in one compound SELECT; stay well under it.
LANES_PER_QUERY = 200
# `store_reasons` remembers the reason last written for each waiting task, to skip rewriting
# an unchanged one every cycle. A claim forgets its task, but a task that leaves the queue
# otherwise (cancelled, rescheduled by a person, deleted) stays: past this many entries
# (about 5 MB) the memory is dropped, which costs one rewrite of each waiting task's reason.
REASONS_KEPT = 50_000
# The partial indexes' condition, as literals: SQLite uses a partial index only for a query
# whose WHERE spells out its condition (a bound parameter proves nothing).
READY = f"status = '{TaskStatus.PENDING.value}' AND pending_deps = 0"


def _aware(value: object) -> datetime:
    """Raw rows carry datetimes as UTC text (SQLite's, and `lane_heads`' on Postgres) or as
    aware datetimes. `fromisoformat` is C: a tenth of the cost of psycopg's time-zone aware
    loader, which Django's backend makes the Python one (1,000 heads: 2,000 of them a cycle)."""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = parse_datetime(value)
    if not isinstance(moment, datetime):  # pragma: no cover - the column only holds datetimes
        raise TypeError(f"not a datetime: {value!r}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def lane_heads(keys: list[str], now: datetime, per_lane: int) -> list[dict[str, Any]]:
    """The first `per_lane` ready tasks of each lane, in planning order: one indexed
    `LIMIT` per lane, glued with UNION ALL so a cycle costs O(lanes) and one round trip."""
    table = connection.ops.quote_name(Task._meta.db_table)
    if connection.vendor == "sqlite":
        # Without statistics SQLite prefers the due-time index and sorts every ready task;
        # the lane index answers the ORDER BY ... LIMIT directly.
        table += " INDEXED BY task_lane_head"
    quote = connection.ops.quote_name
    cols = ", ".join(quote(name) for name in HEAD_FIELDS)
    outer = "*"
    if connection.vendor == "postgresql":  # the two times as UTC text (see `_aware`)
        outer = ", ".join(
            f"({quote(name)} AT TIME ZONE 'UTC')::text" if name in TIMES else quote(name)
            for name in HEAD_FIELDS
        )
    # Only quoted identifiers and an int are formatted into the SQL; values are parameters.
    one = (
        f"SELECT {outer} FROM (SELECT {cols} FROM {table} WHERE lane = %s "  # noqa: S608
        f"AND {READY} AND scheduled_for <= %s ORDER BY priority, scheduled_for, id "
        f"LIMIT {int(per_lane)}) AS h"
    )
    moment = connection.ops.adapt_datetimefield_value(now)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), LANES_PER_QUERY):
        chunk = keys[start : start + LANES_PER_QUERY]
        sql = " UNION ALL ".join(f"{one}{i}" for i in range(len(chunk)))
        params: list[Any] = []
        for key in chunk:
            params += [key, moment]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for values in cursor.fetchall():
                row = dict(zip(HEAD_FIELDS, values, strict=True))
                row["scheduled_for"] = _aware(row["scheduled_for"])
                row["created_at"] = _aware(row["created_at"])
                row["req_safari_exclusive"] = bool(row["req_safari_exclusive"])
                rows.append(row)
    return rows


def candidate_from_row(row: dict[str, Any]) -> Candidate:
    """A planning candidate from a task row (HEAD_FIELDS), with its type's resource needs."""
    needs: dict[str, int] = {}
    spec = registry.task_type(row["type"])
    if spec is not None and spec.needs is not None:
        needs.update(spec.needs(Task(**row)))
    if row["req_sora_credits"]:
        needs["sora:credits"] = max(needs.get("sora:credits", 0), row["req_sora_credits"])
    return Candidate(
        id=row["id"],
        lane=row["lane"],
        priority=row["priority"],
        scheduled_for=row["scheduled_for"],
        created_at=row["created_at"],
        # An unpinned task's lane says so; its row names the host of its latest claim.
        safari_host=ANY_HOST if row["lane"].endswith(f"|{ANY_HOST}") else row["safari_host"],
        safari_exclusive=row["req_safari_exclusive"],
        platform=row["req_platform"] or row["platform"],
        account=row["account"],
        needs=needs,
    )


class Dispatcher:
    def __init__(
        self,
        *,
        name: str | None = None,
        log: Callable[[str], None] | None = None,
        enqueue_fn: Callable[[int, int, str, str], None] = enqueue,
    ) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.log = log or logger.info
        self.enqueue = enqueue_fn
        self.stop_event = threading.Event()
        self.conf = settings.SCHEDULER
        self.is_leader = False
        self._last_wake_id = 0
        self._last_reap = 0.0
        self._renewed: datetime | None = None
        self.saturated = False
        self._full_cycle_at = 0.0
        self._reasons: dict[int, str] = {}
        self.held: dict[str, str] = {}  # offline hosts: the reason their tasks wait
        self.placeable: tuple[str, ...] = tuple(settings.SAFARI_HOSTS)  # where unpinned work goes
        self._offline_seen: set[tuple[str, int]] = set()
        self.listener: wakeups.Listener | None = None
        self._woken = threading.Event()
        self._notified_id = 0

    def stop(self) -> None:
        """End the loop (from a signal handler too): its sleep, whichever kind, ends now."""
        self.stop_event.set()
        self._woken.set()

    # --- leadership -------------------------------------------------------------------

    def take_lease(self, now: datetime) -> bool:
        """Take or renew the leader lease. A leader renews at most every sixth of the lease
        (the loop wakes at least every third), not on every cycle: one write fewer per cycle."""
        lease = float(self.conf["LEADER_LEASE_SECONDS"])
        since = (now - self._renewed).total_seconds() if self._renewed else -1.0
        if self.is_leader and 0 <= since < lease / 6:
            return True
        expires = now + timedelta(seconds=lease)
        SchedulerState.objects.get_or_create(pk=1)
        free = Q(leader=self.name) | Q(leader="") | Q(leader_expires_at__lt=now)
        updated = SchedulerState.objects.filter(free, pk=1).update(
            leader=self.name, leader_expires_at=expires
        )
        if updated and not self.is_leader:
            SchedulerState.objects.filter(pk=1).update(leader_since=now)
            with transaction.atomic():
                events.record(
                    "scheduler.leader",
                    subject="scheduler",
                    subject_id=self.name,
                    message=f"{self.name} leads the dispatcher",
                )
            self.log(f"leader: {self.name}")
            self.run_on_lead_hooks(now)
        elif not updated and self.is_leader:
            self.log(f"lost the lease; standing by: {self.name}")
        self.is_leader = bool(updated)
        self._renewed = now if updated else None
        return self.is_leader

    def run_on_lead_hooks(self, now: datetime) -> None:
        """What the apps want done when a dispatcher takes the lead (probe every service…).
        A failing hook is logged and never costs the lead."""
        for name, hook in registry.on_lead_hooks().items():
            try:
                hook(now)
            except Exception:
                logger.exception("on-lead hook %s failed", name)

    def release_lease(self) -> None:
        SchedulerState.objects.filter(pk=1, leader=self.name).update(
            leader="", leader_expires_at=None
        )
        self.is_leader = False

    # --- reaping ----------------------------------------------------------------------

    def read_hosts(self, now: datetime) -> dict[str, str]:
        """Which hosts are held (one query), with a `host.offline` event the first time one
        is seen gone quiet."""
        states = hosts.liveness(now)
        for host, live in states.items():
            if live.state == "offline" and (host, live.incarnation) not in self._offline_seen:
                self._offline_seen.add((host, live.incarnation))
                if hosts.record_offline(live, now=now):
                    self.log(f"host {host} offline (last seen {live.since})")
        self.held = hosts.held(states)
        self.placeable = hosts.placeable(states, settings.SAFARI_HOSTS)
        return self.held

    def reap(self, now: datetime) -> int:
        """Recover tasks whose worker vanished or whose claim was never picked up. On a held
        (offline) host that is known within its host lease: its scheduled tasks go back to the
        queue, and its running ones silent for two heartbeats are recovered, without waiting
        for the heartbeat timeout or the claim lease."""
        hb_cutoff = now - timedelta(seconds=self.conf["HEARTBEAT_TIMEOUT_SECONDS"])
        claim_cutoff = now - timedelta(seconds=self.conf["CLAIM_LEASE_SECONDS"])
        host_cutoff = now - timedelta(seconds=2 * self.conf["HEARTBEAT_SECONDS"])
        held = list(self.held)
        recovered = 0
        lost = Q(heartbeat_at__lt=hb_cutoff) | Q(safari_host__in=held, heartbeat_at__lt=host_cutoff)
        for task in Task.objects.filter(lost, pk__in=in_status(S.RUNNING)):
            silent = (now - task.heartbeat_at).total_seconds() if task.heartbeat_at else 0
            cause = self.held.get(task.safari_host) or "killed, crashed or over its timeout"
            reason = (
                f"worker lost: no heartbeat for {silent:.0f}s ({cause}) on attempt {task.attempt}"
            )
            if recovery.attempt_recover_lost(task=task, reason=reason, now=now):
                recovered += 1
        unstarted = Q(claimed_at__lt=claim_cutoff) | Q(safari_host__in=held)
        scheduled = Task.objects.filter(unstarted, pk__in=in_status(S.SCHEDULED))
        for task_id, host in scheduled.values_list("pk", "safari_host"):
            why = self.held.get(host) or "claim expired before a worker started it"
            if recovery.claim_requeue(
                task_id=task_id,
                message=f"{why}; back in the queue",
                now=now,
            ):
                recovered += 1
        return recovered

    # --- one cycle ----------------------------------------------------------------------

    def load_candidates(self, now: datetime, free_slots: int | None = None) -> list[Candidate]:
        batch = int(self.conf["DISPATCH_BATCH"])
        # As many as can start: the free slots, or at least as many as the reserved workers
        # (Safari and urgent work, which the slots do not limit).
        least = max(1, min(batch, int(self.conf["RESERVED_WORKERS"])))
        per_lane = batch if free_slots is None else max(least, min(batch, free_slots))
        keys = list(Lane.objects.values_list("key", flat=True))
        return [candidate_from_row(row) for row in lane_heads(keys, now, per_lane)]

    def load_resources(
        self,
        now: datetime,
        candidates: list[Candidate],
        free_slots: int,
        inflight: InFlight | None = None,
    ) -> ResourceState:
        # Ask only what this plan can use: a gate only to a candidate that needs it.
        keys = {key for cand in candidates for key in cand.needs}
        reserved = int(self.conf["RESERVED_WORKERS"])
        inflight = inflight if inflight is not None else in_flight(reserved)
        return ResourceState(
            busy_hosts=inflight.safari_held,
            gates=registry.read_gates(keys, now) if keys else {},
            pauses=load_pauses(),
            free_slots=free_slots,
            hosts=self.placeable,
            offline_hosts=self.held,
            reserved_workers=reserved,
            reserved_busy=inflight.reserved_busy,
            queued_busy=inflight.queued_busy,
        )

    def next_due(self, now: datetime) -> datetime | None:
        """The earliest due time still ahead among ready tasks (the `task_next_due` index)."""
        table = connection.ops.quote_name(Task._meta.db_table)
        if connection.vendor == "sqlite":  # without statistics it would sort the status index
            table += " INDEXED BY task_next_due"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT scheduled_for FROM {table} WHERE {READY} "  # noqa: S608
                "AND scheduled_for > %s ORDER BY scheduled_for LIMIT 1",
                [connection.ops.adapt_datetimefield_value(now)],
            )
            row = cursor.fetchone()
        return _aware(row[0]) if row else None

    def cycle(self, now: datetime | None = None) -> Plan:
        """Plan and claim once; returns the plan (for tests and `scheduler status`)."""
        now = now or timezone.now()
        self.read_hosts(now)
        if time.monotonic() - self._last_reap >= 1.0:
            self.reap(now)
            self._last_reap = time.monotonic()
        inflight = in_flight(int(self.conf["RESERVED_WORKERS"]))
        limit = int(self.conf["MAX_INFLIGHT"])
        free = max(limit - inflight.queued, 0)
        if self._skip_until_more_slots(free, limit):
            return Plan(start=(), waits={}, next_change=None)
        self._full_cycle_at = time.monotonic()
        candidates = self.load_candidates(now, free)
        resources = self.load_resources(now, candidates, free, inflight)
        result = plan(now, candidates, resources, next_due=self.next_due(now))
        # Every free slot of the queued pools taken: more claims of their work must wait for
        # tasks to finish anyway (Safari and urgent work waits at most a few cycle gaps).
        by_id = {c.id: c for c in candidates}
        queued = sum(not resources.takes_reserved(by_id[task_id]) for task_id in result.start)
        self.saturated = bool(candidates) and queued >= free
        self.store_reasons(result)
        self.claim(result.start, now, by_id, hosts=result.hosts)
        return result

    def _skip_until_more_slots(self, free: int, limit: int) -> bool:
        """While every worker slot is taken, plan again only once a batch of them (an eighth)
        has freed, or a few busy gaps have passed: fewer, larger cycles under load, and a
        bounded delay for whatever waits for a single slot."""
        if not self.saturated:
            return False
        waited = time.monotonic() - self._full_cycle_at
        return free < max(1, limit // 8) and waited < 5 * float(self.conf["CYCLE_GAP_SECONDS"])

    def store_reasons(self, result: Plan) -> None:
        by_reason: dict[str, list[int]] = {}
        for task_id, reason in result.waits.items():
            if self._reasons.get(task_id) != reason:
                by_reason.setdefault(reason[:300], []).append(task_id)
                self._reasons[task_id] = reason
        get_store().note_waits(by_reason)
        if len(self._reasons) > REASONS_KEPT:
            self._reasons.clear()

    def claim(
        self,
        task_ids: tuple[int, ...],
        now: datetime,
        candidates: dict[int, Candidate],
        *,
        hosts: Mapping[int, str] | None = None,
    ) -> list[int]:
        """Claim the plan's tasks (the store: one UPDATE and one event INSERT for them all, or
        one by one if the database's Safari rule refuses the batch), then enqueue after commit.
        `hosts`: the host the plan picked for each unpinned task, written on its row."""
        claimed = get_store().claim(list(task_ids), by=self.name, now=now, hosts=hosts)
        reserved = int(self.conf["RESERVED_WORKERS"])
        # Each package's pool, by the task's class (read for a task not planned here).
        classes = {c.id: (c.safari_exclusive, c.priority) for c in candidates.values()}
        unknown = [task_id for task_id, *_ in claimed if task_id not in classes]
        if unknown:
            rows = Task.objects.filter(pk__in=unknown)
            classes |= {
                pk: (bool(exclusive), priority)
                for pk, exclusive, priority in rows.values_list(
                    "pk", "req_safari_exclusive", "priority"
                )
            }
        pools = {}
        for task_id, *_ in claimed:
            self._reasons.pop(task_id, None)
            exclusive, priority = classes.get(task_id, (True, 1))
            pools[task_id] = pool_of(
                safari_exclusive=exclusive, priority=priority, reserved_workers=reserved
            )
        # now, outside a transaction
        transaction.on_commit(lambda: self._enqueue_all(claimed, pools))
        return [task_id for task_id, *_ in claimed]

    def _enqueue_all(self, claimed: list[Claim], pools: Mapping[int, str]) -> None:
        """Packages for the claimed tasks, each to its host's cluster of its pool, packed first
        and then sent together. A package that cannot be sent leaves its claim to expire; the
        reaper puts the task back in the queue."""
        if self.enqueue is not enqueue:  # a test's or a bench's own enqueue
            for task_id, attempt, task_type, host in claimed:
                self.enqueue(task_id, attempt, task_type, host)
            return
        batches: dict[str, PackageBatch] = {}
        for task_id, attempt, task_type, host in claimed:
            pool = pools.get(task_id, MAIN_POOL)
            cluster = cluster_for(host, pool)
            batch = batches.get(cluster) or batches.setdefault(
                cluster, PackageBatch(broker_for(cluster))
            )
            enqueue(task_id, attempt, task_type, host, pool=pool, broker=batch)
        try:
            with transaction.atomic():  # the ORM broker shares our database
                for batch in batches.values():
                    batch.flush()
        except Exception:
            logger.exception("could not enqueue %d claimed tasks", len(claimed))

    # --- the loop -----------------------------------------------------------------------

    def latest_wake_id(self, after: int = 0) -> int:
        """The newest waking event id (> `after`), by a primary-key range scan: cheap enough
        to poll every few tens of milliseconds."""
        table = connection.ops.quote_name(Event._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT MAX(id) FROM {table} WHERE id > %s AND wakes = %s",  # noqa: S608
                [after, True],
            )
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else after

    def listen(self) -> None:
        """Wake on notifications where the database sends them (Postgres); else keep polling."""
        if self.listener is None:
            self.listener = wakeups.listener_for(
                [wakeups.CHANNEL_WAKES], self._on_notify, name="dispatcher-wakeups"
            )

    def _on_notify(self, channel: str, payload: str) -> None:
        """From the listener's thread: a waking event committed (or the listener lost or
        regained its connection, and anything may have)."""
        if payload.isdigit():
            self._notified_id = max(self._notified_id, int(payload))
        self._woken.set()

    def wait(self, until: datetime | None) -> None:
        """Sleep until `until` or until a waking event row appears."""
        poll = float(self.conf["POLL_SECONDS"])
        max_sleep = float(self.conf["MAX_SLEEP_SECONDS"])
        seconds = max_sleep if until is None else (until - timezone.now()).total_seconds()
        deadline = time.monotonic() + min(max(seconds, 0.0), max_sleep)
        if self.listener is None:
            self._wait_polling(deadline, poll)
        else:
            safety_poll = float(self.conf["NOTIFY_POLL_SECONDS"])
            self._wait_notified(self.listener, deadline, poll, safety_poll)

    def _wait_polling(self, deadline: float, poll: float) -> None:
        """Poll the newest waking event id every `poll` seconds (SQLite)."""
        while not self.stop_event.is_set():
            latest = self.latest_wake_id(self._last_wake_id)
            if latest > self._last_wake_id:
                self._last_wake_id = latest
                return
            if time.monotonic() >= deadline:
                return
            self.stop_event.wait(min(poll, max(deadline - time.monotonic(), 0)))

    def _wait_notified(
        self, listener: wakeups.Listener, deadline: float, poll: float, safety_poll: float
    ) -> None:
        """Wait for a notification; poll as well, every `safety_poll` seconds while the
        listener listens (what a notification could miss), every `poll` while it does not.
        A notification that came during the cycle ends the wait at once."""
        next_poll = time.monotonic()
        if listener.connected.is_set():
            next_poll += safety_poll
        while not self.stop_event.is_set():
            clock = time.monotonic()
            if clock >= next_poll:
                latest = self.latest_wake_id(self._last_wake_id)
                if latest > self._last_wake_id:
                    self._last_wake_id = latest
                    return
                next_poll = clock + (safety_poll if listener.connected.is_set() else poll)
            if clock >= deadline:
                return
            if self._woken.wait(max(min(next_poll, deadline) - clock, 0)):
                self._woken.clear()
                self._last_wake_id = max(self._last_wake_id, self._notified_id)
                return

    def run_forever(self) -> None:
        self.log(f"dispatcher {self.name} starting")
        self._last_wake_id = self.latest_wake_id()
        self.listen()
        lease = float(self.conf["LEADER_LEASE_SECONDS"])
        while not self.stop_event.is_set():
            close_old_connections()
            try:
                now = timezone.now()
                if not self.take_lease(now):
                    self.stop_event.wait(lease / 3)
                    continue
                if SchedulerState.objects.filter(pk=1, stopped=True).exists():
                    self.read_hosts(now)
                    self.reap(now)
                    self.wait(now + timedelta(seconds=lease / 3))
                    continue
                started = time.monotonic()
                result = self.cycle(now)
                renew_by = now + timedelta(seconds=lease / 3)
                until = min(filter(None, [result.next_change, renew_by]))
                self.wait(until)
                # Under load a waking event lands during every cycle: a short gap between
                # cycles lets each one claim a batch instead of a task or two.
                gap = float(self.conf["CYCLE_GAP_SECONDS"]) - (time.monotonic() - started)
                if gap > 0:
                    self.stop_event.wait(gap)
            except Exception:
                logger.exception("dispatcher cycle failed; retrying in 1s")
                self.stop_event.wait(1.0)
        if self.listener is not None:
            self.listener.stop()
        self.release_lease()
        self.log(f"dispatcher {self.name} stopped")


def load_pauses() -> Pauses:
    everything: str | None = None
    platforms: dict[str, str] = {}
    accounts: dict[tuple[str, str], str] = {}
    for pause in Pause.objects.all():
        if pause.scope == PauseScope.ALL:
            everything = pause.reason or "scheduler paused"
        elif pause.scope == PauseScope.PLATFORM:
            platforms[pause.platform] = pause.reason or f"{pause.platform} paused"
        else:
            accounts[(pause.platform, pause.account)] = pause.reason or "account paused"
    return Pauses(everything=everything, platforms=platforms, accounts=accounts)
