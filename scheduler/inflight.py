"""What is in flight (scheduled or running), read for every dispatcher cycle.

These sets are small (bounded by SCHEDULER_MAX_INFLIGHT and the reserved workers) however long
the queue is, but SQLite cannot know it: its statistics average the status index over every
row, and with most rows in one status (100,000 pending) it scans the table instead. So these
reads name the (status, claimed_at) index on SQLite, as `lane_heads` names its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from scheduler.lifecycle import S
from scheduler.models import Task
from scheduler.planning import MAIN_POOL, URGENT_PRIORITY, pool_of

IN_FLIGHT = (S.SCHEDULED, S.RUNNING)


@dataclass(frozen=True)
class InFlight:
    """The scheduled and running tasks as the planner needs them: how many hold each host's
    reserved workers, how many are in the pools whose packages queue (every host's), and
    which hosts' Safari is taken."""

    reserved_busy: dict[str, int]
    queued_busy: dict[str, int]
    safari_held: frozenset[str]

    @property
    def queued(self) -> int:
        return sum(self.queued_busy.values())


def _table() -> str:
    table = connection.ops.quote_name(Task._meta.db_table)
    return f"{table} INDEXED BY task_status" if connection.vendor == "sqlite" else table


def in_status(*statuses: str) -> list[int]:
    """The ids of the tasks in these statuses (in-flight ones: a short list) by the index."""
    marks = ", ".join(["%s"] * len(statuses))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {_table()} WHERE status IN ({marks})",  # noqa: S608
            [str(status) for status in statuses],
        )
        return [row[0] for row in cursor.fetchall()]


def in_flight(reserved_workers: int) -> InFlight:
    """One grouped query over the scheduled and running tasks: per host, Safari-exclusive or
    not, holding Safari or not, and how many of them are urgent; each counted in the pool that
    runs it (`planning.pool_of`)."""
    quote = connection.ops.quote_name
    host, exclusive, holds = (
        quote(name) for name in ("safari_host", "req_safari_exclusive", "holds_safari")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {host}, {exclusive}, {holds}, COUNT(*), "  # noqa: S608
            f"SUM(CASE WHEN {quote('priority')} <= %s THEN 1 ELSE 0 END) "
            f"FROM {_table()} WHERE status IN (%s, %s) GROUP BY {host}, {exclusive}, {holds}",
            [URGENT_PRIORITY, *(str(status) for status in IN_FLIGHT)],
        )
        rows = cursor.fetchall()
    urgent_in_main = pool_of(
        safari_exclusive=False, priority=URGENT_PRIORITY, reserved_workers=reserved_workers
    )
    busy: dict[str, int] = {}
    queued: dict[str, int] = {}
    held: set[str] = set()
    for name, is_exclusive, is_holding, n, urgent in rows:
        main = 0
        if reserved_workers > 0:
            if is_exclusive:
                main = n
            elif urgent_in_main == MAIN_POOL:
                main = int(urgent or 0)
        if main:
            busy[name] = busy.get(name, 0) + main
        if n > main:
            queued[name] = queued.get(name, 0) + n - main
        if is_holding:
            held.add(name)
    return InFlight(busy, queued, frozenset(held))
