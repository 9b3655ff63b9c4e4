"""Event rows: written in the same transaction as the change they describe."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler import rawsql
from scheduler.models import Event, Task
from scheduler.signals import SIGNAL_BY_KIND, event_recorded
from scheduler.taskinput import scrub

logger = logging.getLogger(__name__)

# Kinds that never change what is eligible: the dispatcher's own claims and a worker picking
# up what was claimed. Every other kind wakes the dispatcher.
QUIET_KINDS = frozenset({"task.claimed", "task.started", "task.progress"})


class Pending:
    """An event row composed ahead of its transaction (outside any write lock); `write()`
    inserts it and arranges its signals for the commit."""

    def __init__(self, event: Event, task: Task | None, insert: tuple[str, list[Any]]) -> None:
        self.event = event
        self.task = task
        self.insert = insert

    def write(self, task: Task | None = None) -> Event:
        """Insert the row; `task` fills in a task that had no id yet when it was composed."""
        if task is not None:
            self.attach(task)
        return self.written(rawsql.insert_prepared(self.insert))

    def attach(self, task: Task) -> None:
        """The task this event is about, once it has an id."""
        self.task, self.event.task_id = task, task.pk
        self.event.subject_id = self.event.subject_id or str(task.pk)
        params = self.insert[1]
        names = rawsql.insert_names(Event)
        params[names.index("task_id")] = task.pk
        params[names.index("subject_id")] = self.event.subject_id

    def written(self, pk: int) -> Event:
        """The row is in (by `write` or by a statement that also did something else)."""
        event, task = self.event, self.task
        event.pk = pk
        event._state.adding = False
        transaction.on_commit(lambda: _fire(event, task))
        return event


def prepare(
    kind: str,
    *,
    task: Task | None = None,
    task_id: int | None = None,
    subject: str = "task",
    subject_id: str | int = "",
    message: str = "",
    data: dict[str, Any] | None = None,
    now: Any = None,
) -> Pending:
    resolved_id = task.pk if task is not None else task_id
    values = {
        "id": None,
        "created_at": now or timezone.now(),
        "kind": kind,
        "subject": subject,
        "subject_id": str(subject_id or (resolved_id if subject == "task" else "") or ""),
        "task_id": resolved_id,
        "message": scrub(message[:500]),  # texts from services: storable and renderable
        "data": scrub(data) if data else {},
        "wakes": kind not in QUIET_KINDS,
    }
    return Pending(_new_event(values), task, rawsql.prepare_insert_values(Event, values))


def _new_event(values: dict[str, Any]) -> Event:
    """An unsaved Event, built as Django builds one from a row: positionally, the fast way."""
    names = _event_attnames()
    event = Event.from_db(None, list(names), [values[name] for name in names])
    event._state.adding = True
    return event


@cache
def _event_attnames() -> tuple[str, ...]:
    return tuple(f.attname for f in Event._meta.concrete_fields)


def record(kind: str, **fields: Any) -> Event:
    """Write one event row (the fields of `prepare`) and fire its signals once the
    surrounding transaction commits."""
    return prepare(kind, **fields).write()


def record_many(
    kind: str, task_ids: list[int], *, now: Any, data: dict[int, dict[str, Any]]
) -> None:
    """`record` for one kind of event on many tasks: one INSERT, signals on commit."""
    events = prepare_many(kind, task_ids, now=now, data=data)
    ids = rawsql.insert_events(
        [{name: getattr(e, name) for name in rawsql.EVENT_COLUMNS} for e in events]
    )
    written_many(events, ids)


def prepare_many(
    kind: str, task_ids: list[int], *, now: Any, data: dict[int, dict[str, Any]]
) -> list[Event]:
    wakes = kind not in QUIET_KINDS
    return [
        _new_event(
            {
                "id": None,
                "created_at": now,
                "kind": kind,
                "subject": "task",
                "subject_id": str(task_id),
                "task_id": task_id,
                "message": "",
                "data": data.get(task_id) or {},
                "wakes": wakes,
            }
        )
        for task_id in task_ids
    ]


def written_many(events: list[Event], ids: dict[int, int]) -> None:
    """Events inserted by some statement ({task id: event id}): signals on commit."""
    for event in events:
        event.pk = ids[event.task_id]  # type: ignore[index]
        event._state.adding = False

    def fire_all() -> None:
        for event in events:
            _fire(event, None)

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
