"""The Event row, defined once: the model's own columns, and how a row is composed.

Every insert path (one row, many rows, a row SELECTed from a task the same statement wrote)
is built from `EVENT_FIELDS` and an `EventRow`, so a new column on Event reaches every path,
on every database, through its default.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Field
from django.utils import timezone

from scheduler.models import Event
from scheduler.store import sql
from scheduler.taskinput import scrub

# Kinds that never change what is eligible: the dispatcher's own claims and a worker picking
# up what was claimed. Every other kind wakes the dispatcher.
QUIET_KINDS = frozenset({"task.claimed", "task.started", "task.progress"})

# An event row before it is written: its values by attribute name, every insert column named.
EventRow = dict[str, Any]


@cache
def event_fields() -> tuple[Field[Any, Any], ...]:
    """The Event columns an insert writes (all but the id), from the model."""
    return sql.insert_fields(Event)


def compose(
    kind: str,
    *,
    task_id: int | None = None,
    subject: str = "task",
    subject_id: str | int = "",
    message: str = "",
    data: dict[str, Any] | None = None,
    now: Any = None,
) -> EventRow:
    """One event row: texts from services made storable, `wakes` from its kind, and the
    model's default for any column not named here."""
    given: EventRow = {
        "created_at": now or timezone.now(),
        "kind": kind,
        "subject": subject,
        "subject_id": str(subject_id or (task_id if subject == "task" else "") or ""),
        "task_id": task_id,
        "message": scrub(message[:500]),
        "data": scrub(data) if data else {},
        "wakes": kind not in QUIET_KINDS,
    }
    return {
        f.attname: given[f.attname] if f.attname in given else f.get_default()
        for f in event_fields()
    }


def params(row: EventRow) -> list[Any]:
    """The row as an INSERT's parameters, in `event_fields()` order."""
    return sql.insert_params(Event, row)


@cache
def position(attname: str) -> int:
    """Where column `attname` is among `params`."""
    return [f.attname for f in event_fields()].index(attname)


def task_positions() -> tuple[int, int]:
    """Where the task id and the subject id are among `params`."""
    return position("task_id"), position("subject_id")


def params_for_task(composed: list[Any], task_id: int) -> list[Any]:
    """`params` of a row composed before its task had an id, with the id filled in (as task
    and subject): what `params` gives for the row with them (both go to the driver as they
    are), without composing the row again once the write lock is held."""
    filled = list(composed)
    task_at, subject_at = task_positions()
    filled[task_at], filled[subject_at] = task_id, str(task_id)
    return filled


def saved(row: EventRow, pk: int) -> Event:
    """The Event a written row is, built as the ORM builds a fetched one."""
    names = ["id", *(f.attname for f in event_fields())]
    return Event.from_db(DEFAULT_DB_ALIAS, names, [pk, *(row[name] for name in names[1:])])
