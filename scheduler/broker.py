"""django-q2's ORM broker, polling cheaply.

The stock ORM broker reopens its database connection and builds an ORM query on every
poll; on SQLite that costs more than the poll itself. This one first asks one indexed
`LIMIT 1` on the open connection, so a short `poll` (fast Safari refills) stays cheap when
idle, then locks a batch in one statement and acknowledges with one DELETE.
"""

from __future__ import annotations

from time import sleep
from typing import Any

from django.db import DatabaseError, close_old_connections, connections
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
        conn = connections[Conf.ORM]
        table = conn.ops.quote_name(OrmQ._meta.db_table)
        with conn.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [task_id])  # noqa: S608
