"""django-q2's ORM broker, polling cheaply.

The stock ORM broker reopens its database connection and builds an ORM query on every
poll; on SQLite that costs more than the poll itself. This one first asks one indexed
`LIMIT 1` on the open connection, so a short `poll` (fast Safari refills) stays cheap when
idle, then locks a batch in one statement and acknowledges with one DELETE.

A runner's package is acknowledged earlier, on every database: the store deletes its row in
the same transaction (on Postgres, the same statement) that starts its task (`Delivery`,
`TaskStore.start`). From then on the task row, its heartbeat and the reaper own its
recovery, and the monitor has nothing left to acknowledge: one write fewer per task on the
shared database. A package whose task does not start (delivered again, or not this
attempt's) keeps its `ack_id` and the monitor acknowledges it after the run, as django-q2
does. The Redis broker has no row to delete: its packages are not acknowledged early.
"""

from __future__ import annotations

from time import sleep
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, close_old_connections, connections
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ


class PollingORM(ORM):  # type: ignore[misc]
    def has_ready(self) -> bool:
        conn = connections[Conf.ORM]
        table = conn.ops.quote_name(OrmQ._meta.db_table)
        now = conn.ops.adapt_datetimefield_value(timezone.now())
        with conn.cursor() as cursor:
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE {conn.ops.quote_name('key')} = %s "  # noqa: S608
                "AND lock < %s LIMIT 1",
                [self.list_key, now],
            )
            return cursor.fetchone() is not None

    def dequeue(self) -> Any:
        try:
            ready = self.has_ready()
        except DatabaseError:
            close_old_connections()
            ready = True  # let the stock path reconnect and report
        if not ready:
            sleep(Conf.POLL)
            return None
        return self.lock_batch()

    def lock_batch(self) -> list[tuple[int, str]] | None:
        """Lock up to `bulk` ready packages in one UPDATE ... RETURNING (the stock path
        updates them one by one): one write, not `bulk` of them, on the shared database.
        The outer `lock < now` makes a package that another cluster took in between skip."""
        conn = connections[Conf.ORM]
        table = conn.ops.quote_name(OrmQ._meta.db_table)
        key = conn.ops.quote_name("key")
        now = conn.ops.adapt_datetimefield_value(timezone.now())
        until = conn.ops.adapt_datetimefield_value(self.timeout(None))
        with conn.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET lock = %s WHERE lock < %s AND id IN "  # noqa: S608
                f"(SELECT id FROM {table} WHERE {key} = %s AND lock < %s "
                f"ORDER BY id LIMIT {int(Conf.BULK)}) RETURNING id, payload",
                [until, now, self.list_key, now],
            )
            rows = sorted(cursor.fetchall())
        return [(int(pk), payload) for pk, payload in rows] or None

    def acknowledge(self, task_id: Any) -> None:
        """One plain DELETE: the stock path goes through the ORM's delete collector, inside
        a transaction, for a row nothing refers to."""
        self.delete(task_id)

    def delete(self, task_id: Any) -> None:
        delete_package(task_id)


def delete_package(package_id: Any) -> None:
    conn = connections[Conf.ORM or DEFAULT_DB_ALIAS]
    sql = f"DELETE FROM {conn.ops.quote_name(OrmQ._meta.db_table)} WHERE id = %s"  # noqa: S608
    with conn.cursor() as cursor:
        cursor.execute(sql, [package_id])


class Delivery:
    """The package a worker is about to run, as django-q2's `pre_execute` hands it over."""

    current: Delivery | None = None

    def __init__(self, package: dict[str, Any]) -> None:
        self.package = package

    @classmethod
    def remember(cls, sender: Any = None, task: dict[str, Any] | None = None, **_: Any) -> None:
        """`pre_execute` receiver: each package replaces the last, so none outlives its run."""
        cls.current = cls(task) if task is not None and task.get("ack_id") else None

    @classmethod
    def take(cls, args: tuple[Any, ...]) -> Delivery | None:
        """The current package if it is the one running with `args`, and if it sits in this
        database's ORM queue (the Redis broker has nothing to acknowledge)."""
        current, cls.current = cls.current, None
        if current is None or tuple(current.package.get("args") or ()) != args:
            return None
        q = settings.Q_CLUSTER
        if q.get("broker_class") != f"{__name__}.PollingORM" or q.get("orm") != DEFAULT_DB_ALIAS:
            return None
        return current

    def acknowledged(self) -> None:
        """The store deleted the package row with the start: tell the monitor it needs no
        acknowledgement of its own."""
        self.package.pop("ack_id", None)
