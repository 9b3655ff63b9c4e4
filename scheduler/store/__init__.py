"""The task store: every write to Task, Event and Lane (create, claim, start, transition,
finish, dependents, package acknowledgement). Services, lifecycle, the dispatcher and the
runner call `get_store()` and never ask which database they are on.

The backend is chosen once per process, from the database vendor: `PostgresStore` writes
the hot path as one statement per step (a round trip each over the network), `SqliteStore`
as short transactions of plain statements (in-process, under the one write lock). Both
write the same rows, fail and release dependents the same way and acknowledge the ORM
broker's package with the start; `scheduler.store.postgres` lists what it leaves to the
portable path and why. `tests/integration/test_task_store.py` holds both to one contract.
"""

from __future__ import annotations

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections

from scheduler.store.base import Claim, SqliteStore, TaskStore
from scheduler.store.rows import EventRow, compose

__all__ = ["Claim", "EventRow", "TaskStore", "compose", "get_store"]


@cache
def get_store() -> TaskStore:
    """The store for the default database's vendor (the same for the whole process)."""
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    if vendor == "postgresql":
        from scheduler.store.postgres import PostgresStore

        return PostgresStore()
    if vendor == "sqlite":
        return SqliteStore()
    return TaskStore()
