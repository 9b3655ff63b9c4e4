"""Event rows: written in the same transaction as the change they describe (by the store,
which fires their signals on commit)."""

from __future__ import annotations

from typing import Any

from scheduler.models import Event, Task
from scheduler.store import compose, get_store


def record(
    kind: str,
    *,
    task: Task | None = None,
    task_id: int | None = None,
    subject: str = "task",
    subject_id: str | int = "",
    message: str = "",
    data: dict[str, Any] | None = None,
    now: Any = None,
) -> Event:
    """Write one event row and fire its signals once the surrounding transaction commits."""
    row = compose(
        kind,
        task_id=task.pk if task is not None else task_id,
        subject=subject,
        subject_id=subject_id,
        message=message,
        data=data,
        now=now,
    )
    return get_store().record(row, task)
