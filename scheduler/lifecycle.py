"""Task state transitions. Each is a conditional update plus an event in one transaction.

`filter(pk=…, status=old, …).update(…)` goes on only if exactly one row changed, so every
transition is safe with many workers, several dispatchers and SQLite alike.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scheduler import events, rawsql
from scheduler.models import FINAL_STATUSES, Task, TaskStatus
from scheduler.planning import backoff
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
    # Both statements are composed before the transaction: on SQLite it holds the one write
    # lock, so only the statements themselves run inside it.
    values = {"status": target, **fields}
    update = rawsql.prepare_update(task_id, statuses=source, attempt=attempt, values=values)
    event = events.prepare(kind, task_id=task_id, message=message, data=data, now=now)
    if rawsql.one_round_trip() and target not in (S.FAILED, S.CANCELLED):
        done = rawsql.update_with_event(
            update, event.insert[1], release_dependents=target == S.COMPLETED
        )
        if done is None:
            return False
        event.written(done[0])
        return True
    with transaction.atomic():
        if not rawsql.execute(update):
            return False
        event.write()
        if target == S.COMPLETED:
            _release_dependents(task_id)
        elif target in (S.FAILED, S.CANCELLED):
            _fail_dependents(task_id, f"dependency #{task_id} {target}", now)
    return True


def _release_dependents(task_id: int) -> None:
    rawsql.release_dependents(task_id)


def _fail_dependents(task_id: int, reason: str, now: datetime) -> None:
    """A failed or cancelled dependency fails its dependents, transitively, each naming the
    dependency that failed it."""
    frontier = [(task_id, reason)]
    while frontier:
        failed_id, why = frontier.pop()
        dependents = (
            Task.objects.filter(dependencies__id=failed_id)
            .exclude(status__in=[*FINAL_STATUSES, S.RUNNING])
            .values_list("pk", flat=True)
        )
        for dependent in list(dependents):
            moved = Task.objects.filter(
                pk=dependent, status__in=[S.PENDING, S.SCHEDULED, S.BLOCKED]
            ).update(
                status=S.FAILED,
                error=why,
                finished_at=now,
                holds_safari=False,
                result={"failedDependency": failed_id},
            )
            if moved:
                events.record("task.failed", task_id=dependent, message=why, now=now)
                frontier.append((dependent, f"dependency #{dependent} failed"))


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
