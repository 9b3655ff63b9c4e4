"""Signals for written events: each fires once, on commit, in the process that wrote it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from scheduler.models import Event, Task
from scheduler.signals import SIGNAL_BY_KIND, event_recorded
from scheduler.store import rows
from scheduler.store.rows import EventRow

logger = logging.getLogger(__name__)


def on_commit(written: list[Event], task: Task | None = None) -> None:
    """Fire the signals of `written` once the surrounding transaction commits (now, outside
    one). `task` is the sender for a task's signal when its row is gone by then."""

    def fire_all() -> None:
        for event in written:
            _fire(event, task)

    transaction.on_commit(fire_all)


def rows_on_commit(
    written: list[tuple[EventRow, int]], task_of: Callable[[], Task] | None = None
) -> None:
    """`on_commit` for rows written (each with its id), their Events built on commit: on
    SQLite the transaction holds the one write lock, and building an Event is Python work
    that need not hold it. `task_of` gives the task sender, as `task` does for `on_commit`."""

    def fire_all() -> None:
        task = task_of() if task_of is not None else None
        for row, pk in written:
            _fire(rows.saved(row, pk), task)

    transaction.on_commit(fire_all)


def _fire(event: Event, task: Task | None) -> None:
    signal = SIGNAL_BY_KIND.get(event.kind)
    if signal is not None and signal.has_listeners():
        sender: Any = event
        if event.subject == "task" and event.task_id is not None:
            sender = Task.objects.filter(pk=event.task_id).first() or task or event
        _send(signal, sender, event)
    _send(event_recorded, event, event)


def _send(signal: Any, sender: Any, event: Event) -> None:
    for receiver, response in signal.send_robust(sender=sender, event=event):
        if isinstance(response, Exception):
            logger.error("signal receiver %r failed for %s: %r", receiver, event.kind, response)
