"""Task state transitions: what each one sets, written by the store as a conditional update
plus its event, atomically.

The update goes on only if the row is still in a source status (and at the attempt), so
every transition is safe with many workers, several dispatchers and SQLite alike.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from scheduler.models import FINAL_STATUSES, Task, TaskStatus
from scheduler.planning import backoff
from scheduler.store import compose, get_store
from scheduler.taskinput import scrub

S = TaskStatus
SCRUBBED = frozenset({"result", "error", "wait_reason"})


def transition(
    task_id: int,
    *,
    source: Iterable[str],
    target: str,
    kind: str,
    message: str = "",
    data: dict[str, Any] | None = None,
    attempt: int | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> bool:
    """Move one task from any of `source` to `target`; False when someone else moved it first."""
    now = now or timezone.now()
    for name in SCRUBBED & fields.keys():  # texts from handlers and services
        fields[name] = scrub(fields[name])
    if target in FINAL_STATUSES or target in (S.PENDING, S.BLOCKED):
        fields.setdefault("holds_safari", False)
        fields.setdefault("cancel_requested", "")
    if target in FINAL_STATUSES:
        fields.setdefault("finished_at", now)
    return get_store().transition(
        task_id,
        source=source,
        target=target,
        attempt=attempt,
        values={"status": target, **fields},
        event=compose(kind, task_id=task_id, message=message, data=data, now=now),
    )


def next_retry_at(retry: int, now: datetime) -> datetime:
    conf = settings.SCHEDULER
    delay = backoff(
        retry,
        base=conf["BACKOFF_BASE_SECONDS"],
        cap=conf["BACKOFF_CAP_SECONDS"],
        jitter=random.random(),
    )
    return now + delay


def fail_attempt(
    task: Task,
    error: str,
    *,
    permanent: bool,
    source: Iterable[str] = (S.RUNNING,),
    attempt: int | None = None,
    now: datetime | None = None,
) -> str:
    """End an attempt that failed: retry with backoff while retries remain, else fail.

    Returns the status the task ended in ('' when it had already moved on).
    """
    now = now or timezone.now()
    if not permanent and task.retry_count < task.max_retries:
        retry = task.retry_count + 1
        when = next_retry_at(retry, now)
        moved = transition(
            task.pk,
            source=source,
            target=S.PENDING,
            kind="task.retry_scheduled",
            message=f"attempt {task.attempt} failed: {error}; retry {retry}/{task.max_retries} "
            f"at {when:%H:%M:%S}",
            data={"error": error, "retry": retry, "at": when.isoformat()},
            attempt=attempt,
            now=now,
            retry_count=retry,
            scheduled_for=when,
            error=error,
            wait_reason=f"retry {retry}/{task.max_retries} after: {error}"[:300],
            claimed_by="",
        )
        return S.PENDING if moved else ""
    moved = transition(
        task.pk,
        source=source,
        target=S.FAILED,
        kind="task.failed",
        message=error,
        data={"error": error, "permanent": permanent, "retries": task.retry_count},
        attempt=attempt,
        now=now,
        error=error,
    )
    return S.FAILED if moved else ""


def end_interrupted(task: Task, reason: str, *, now: datetime | None = None) -> bool:
    """End an attempt that stopped part-way (its worker vanished, or it ran past its timeout):
    its type's `recover` hook first (a send marks its ledger entry unknown, so the next attempt
    verifies before any resend), else a failed attempt, retried while retries remain."""
    from scheduler import registry

    spec = registry.task_type(task.type)
    recover = spec.extra.get("recover") if spec else None
    if recover is not None and recover(task):
        return True
    return bool(fail_attempt(task, reason, permanent=False, attempt=task.attempt, now=now))
