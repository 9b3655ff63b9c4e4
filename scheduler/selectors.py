"""Reads of the queue and the scheduler's state, shaped for the API, CLI and dashboard."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from safari_auto.demo import real_services
from safari_auto.times import duration_text
from scheduler import hosts, registry
from scheduler.inflight import in_status
from scheduler.lifecycle import S
from scheduler.models import (
    FINAL_STATUSES,
    QUEUE_STATUSES,
    Event,
    Pause,
    PauseScope,
    SchedulerState,
    Task,
)
from scheduler.planning import MAIN_POOL, URGENT_PRIORITY


def task_queue(*, limit: int | None = None) -> QuerySet[Task]:
    """Pending, scheduled and blocked tasks in planning order."""
    rows = Task.objects.filter(status__in=QUEUE_STATUSES).order_by(
        "priority", "scheduled_for", "created_at", "id"
    )
    return rows[:limit] if limit else rows


def task_running() -> QuerySet[Task]:
    return Task.objects.filter(status=S.RUNNING).order_by("started_at", "id")


def task_finished(*, statuses: Collection[str] = FINAL_STATUSES, limit: int = 20) -> QuerySet[Task]:
    """Finished tasks (completed, failed, cancelled by default), newest first."""
    done = Task.objects.filter(
        status__in=list(statuses), finished_at__isnull=False
    )  # partial index
    return done.order_by("-finished_at", "-id")[:limit]


def task_get(*, task_id: int | str) -> Task | None:
    try:
        return Task.objects.filter(pk=int(task_id)).first()
    except ValueError:
        return None


@dataclass(frozen=True)
class HostWork:
    """What a host's cluster was sent and has not finished: how a supervisor tells a frozen
    cluster (idle workers, and work it was sent that nobody starts)."""

    oldest_claim: datetime | None  # the oldest claim still waiting for a worker to start it
    running: int


def in_pool(pool: str | None, *, prefix: str = "") -> Q:
    """The tasks a pool of their host runs (`planning.pool_of`); every task for None.
    `prefix`: the lookup path to the task ("task__" from an event)."""
    reserved = int(settings.SCHEDULER["RESERVED_WORKERS"])
    if pool is None or reserved <= 0:
        return Q()
    main = Q(**{f"{prefix}req_safari_exclusive": True})
    if reserved >= 2:
        main |= Q(**{f"{prefix}priority__lte": URGENT_PRIORITY})
    return main if pool == MAIN_POOL else ~main


def host_work(*, host: str, pool: str | None = None) -> HostWork:
    """Reads of the in-flight tasks (bounded by MAX_INFLIGHT), found by the status index."""
    mine = Task.objects.filter(in_pool(pool), safari_host=host)
    scheduled = mine.filter(pk__in=in_status(S.SCHEDULED))
    oldest = scheduled.aggregate(oldest=Min("claimed_at"))["oldest"]
    running = mine.filter(pk__in=in_status(S.RUNNING)).count()
    return HostWork(oldest_claim=oldest, running=running)


def host_started_since(*, host: str, since: datetime, pool: str | None = None) -> bool:
    """Whether a worker of `host` (of its `pool`) started any task at or after `since` (its
    `task.started` events, found through the events' time index)."""
    return Event.objects.filter(
        in_pool(pool, prefix="task__"),
        created_at__gte=since,
        kind="task.started",
        task__safari_host=host,
    ).exists()


def scheduler_state(*, now: datetime | None = None) -> dict[str, Any]:
    """The PRD's status: whether a dispatcher leads, pause state and the queue's counts."""
    now = now or timezone.now()
    state = SchedulerState.objects.filter(pk=1).first()
    lease_fresh = bool(
        state and state.leader and state.leader_expires_at and state.leader_expires_at > now
    )
    counts = dict(
        Task.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    paused = Pause.objects.filter(scope=PauseScope.ALL).first()
    stopped = bool(state and state.stopped)
    return {
        "isRunning": lease_fresh and not stopped,
        "isPaused": paused is not None,
        "pauseReason": paused.reason if paused else None,
        "isStopped": stopped,
        "leader": state.leader if lease_fresh and state else None,
        "startedAt": state.leader_since if lease_fresh and state else None,
        "tasksInQueue": sum(counts.get(status, 0) for status in QUEUE_STATUSES),
        "tasksRunning": counts.get(S.RUNNING, 0),
        "tasksCompleted": counts.get(S.COMPLETED, 0),
        "tasksFailed": counts.get(S.FAILED, 0),
        "tasksBlocked": counts.get(S.BLOCKED, 0),
        "safariHosts": host_states(now=now),
        "soraCredits": None,
        "platforms": [],
        "demo": settings.DEMO
        and not real_services(settings.SERVICE_URLS, settings.SIM_PORT_OFFSET),
        **registry.status_sections(),
    }


def host_states(*, now: datetime) -> list[dict[str, Any]]:
    """Each Safari host's worker cluster: online, offline, stopped or unknown (never reported
    by a supervisor), since when, and the reason its tasks wait if they do."""
    states = hosts.liveness(now)
    held = hosts.held(states)
    return [
        {"host": host, "state": live.state, "since": live.since, "reason": held.get(host, "")}
        for host, live in states.items()
    ]


def pauses() -> list[Pause]:
    return list(Pause.objects.order_by("scope", "platform", "account"))


def display_state(task: Task, *, now: datetime | None = None) -> tuple[str, str]:
    """The dashboard's word for a task and its detail: SCHEDULED (in 5 m), WAITING (why),
    STARTING, RUNNING, NEEDS YOU, or the final status."""
    now = now or timezone.now()
    if task.status == S.PENDING:
        if task.scheduled_for > now:
            return "SCHEDULED", f"in {duration_text(task.scheduled_for - now)}"
        return "WAITING", task.wait_reason or "waiting for its turn"
    if task.status == S.SCHEDULED:
        return "STARTING", ""
    if task.status == S.BLOCKED:
        return "NEEDS YOU", task.wait_reason
    return task.status.upper(), task.error
