"""Recovering work whose worker is gone: one path for the dispatcher's reaper (a lease ran
out) and for a host's supervisor (its cluster died or froze, so nothing of the host runs).

- A lost *running* attempt goes through its task type's `recover` hook first (a DM send is
  marked unknown, so its next attempt verifies before any resend), else
  `lifecycle.fail_attempt`: retried with backoff, or failed when no retry is left.
- A *scheduled* task (claimed, enqueued, never started) goes back to the queue. A package of
  it still in the broker later finds the row no longer scheduled at its attempt and does
  nothing (`TaskStore.start` is conditional), so nothing runs twice.

Every recovery is a conditional transition with its event; a task that moved on first is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler import lifecycle, registry
from scheduler.lifecycle import S
from scheduler.models import Task


def attempt_recover_lost(*, task: Task, reason: str, now: datetime) -> bool:
    """A running attempt whose worker is gone: the type's `recover` hook, else a failed
    attempt (retry with backoff). True when the task moved."""
    spec = registry.task_type(task.type)
    recover = spec.extra.get("recover") if spec else None
    if recover is not None and recover(task):
        return True
    return bool(
        lifecycle.fail_attempt(task, reason, permanent=False, attempt=task.attempt, now=now)
    )


def claim_requeue(*, task_id: int, message: str, now: datetime) -> bool:
    """A claimed task no worker started: back in the queue (scheduled → pending)."""
    return lifecycle.transition(
        task_id,
        source=[S.SCHEDULED],
        target=S.PENDING,
        kind="task.reclaimed",
        message=message,
        now=now,
        claimed_by="",
        wait_reason="",
    )


@dataclass(frozen=True)
class HostRecovery:
    requeued: int
    recovered: int

    def __bool__(self) -> bool:
        return bool(self.requeued or self.recovered)


def host_recover(*, host: str, why: str, now: datetime) -> HostRecovery:
    """Nothing of `host` runs any more (its cluster was killed and a new one is about to
    start): requeue its scheduled tasks and recover its running ones at once, instead of after
    the claim lease or the heartbeat timeout. Call it only when no process of the host's old
    cluster is left."""
    requeued = sum(
        claim_requeue(
            task_id=task_id,
            message=f"{why}: the worker cluster of host {host} restarted before a worker "
            "started it; back in the queue",
            now=now,
        )
        for task_id in Task.objects.filter(status=S.SCHEDULED, safari_host=host).values_list(
            "pk", flat=True
        )
    )
    recovered = sum(
        attempt_recover_lost(
            task=task,
            reason=f"worker lost: {why} on host {host} during attempt {task.attempt}",
            now=now,
        )
        for task in Task.objects.filter(status=S.RUNNING, safari_host=host)
    )
    return HostRecovery(requeued=requeued, recovered=recovered)
