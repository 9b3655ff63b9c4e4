"""PostgreSQL: the hot writes as one statement each (data-modifying CTEs), so each costs one
round trip over the network and is atomic by itself. Same rows as `TaskStore`'s transactions.

What stays on the portable path, and why:
- a failure or cancellation (`transition` to failed/cancelled) fails its dependents
  transitively, each with an event naming its dependency: a loop, in one transaction; rare
  on the hot path, so not worth a recursive CTE;
- a claim or a creation inside a caller's transaction, and a creation with dependencies: a
  refused statement (the Safari rule, a repeated idempotency key) must roll back to a
  savepoint the caller can go on from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from scheduler.models import Event, Task
from scheduler.store import announce, rows, sql
from scheduler.store.base import (
    ENDED_BADLY,
    Claim,
    S,
    TaskStore,
    claimed_event,
    in_order,
    package_delete,
    saved_task,
)
from scheduler.store.rows import EventRow


class PostgresStore(TaskStore):
    vendor = "postgresql"

    def create(self, task: Task, created: EventRow, *, dependencies: list[int]) -> Task:
        if dependencies or not transaction.get_autocommit():
            return super().create(task, created, dependencies=dependencies)
        values = {f.attname: f.pre_save(task, add=True) for f in sql.insert_fields(Task)}
        lane = sql.lane_insert(task.lane, task.created_at)
        from_task: dict[str, sql.Prepared] = {
            "task_id": ("t.id", []),
            "subject_id": ("CAST(t.id AS TEXT)", []),
        }
        event = sql.insert_select(Event, created, "t", from_task)
        statement = (
            f"WITH l AS ({lane[0]}), "  # noqa: S608
            f"t AS ({sql.insert_values(Task)} RETURNING id), "
            f"e AS ({event[0]} RETURNING id) "
            "SELECT t.id, (SELECT id FROM e) FROM t"
        )
        params = [*lane[1], *sql.insert_params(Task, values), *event[1]]
        task_id, event_id = sql.execute(statement, params)[1][0]
        saved = saved_task(int(task_id), values)
        row = {**created, "task_id": saved.pk, "subject_id": str(saved.pk)}
        announce.on_commit([rows.saved(row, int(event_id))], saved)
        return saved

    def claim(
        self,
        task_ids: list[int],
        *,
        by: str,
        now: datetime,
        hosts: Mapping[int, str] | None = None,
    ) -> list[Claim]:
        if not task_ids or not transaction.get_autocommit():
            return super().claim(task_ids, by=by, now=now, hosts=hosts)
        update, update_params = sql.claim_update(task_ids, by=by, now=now, hosts=hosts)
        prototype = claimed_event(Claim(0, 0, "", ""), by=by, now=now)
        event = sql.insert_select(
            Event,
            prototype,
            "c",
            {
                "task_id": ("c.id", []),
                "subject_id": ("CAST(c.id AS TEXT)", []),
                "data": ("jsonb_build_object('attempt', c.attempt, 'by', CAST(%s AS TEXT))", [by]),
            },
        )
        statement = (
            f"WITH c AS ({update}), e AS ({event[0]} RETURNING id, task_id) "  # noqa: S608
            "SELECT c.id, c.attempt, c.type, c.safari_host, e.id FROM c JOIN e ON e.task_id = c.id"
        )
        try:
            returned = sql.execute(statement, [*update_params, *event[1]])[1]
        except IntegrityError:  # the Safari rule refused the batch: one by one
            return super().claim(task_ids, by=by, now=now, hosts=hosts)
        claimed = in_order(
            [Claim(int(i), int(a), str(t), str(h)) for i, a, t, h, _ in returned], task_ids
        )
        event_ids = {int(row[0]): int(row[4]) for row in returned}
        announce.on_commit(
            [rows.saved(claimed_event(c, by=by, now=now), event_ids[c.task_id]) for c in claimed]
        )
        return claimed

    def start(
        self,
        task_id: int,
        attempt: int,
        *,
        now: datetime,
        package: int | None = None,
        pid: int | None = None,
    ) -> Task | None:
        started = rows.compose("task.started", task_id=task_id, now=now)
        extra = []
        if package is not None:  # acknowledged only if the start went through
            delete, params = package_delete(package)
            extra.append((f"{delete} AND EXISTS (SELECT 1 FROM t)", params))  # noqa: S608
        done = self._update_with_event(
            sql.start_update(task_id, attempt=attempt, now=now, pid=pid),
            started,
            whole_row=True,
            extra=extra,
        )
        return None if done is None else sql.task_from_row(done)

    def transition(
        self,
        task_id: int,
        *,
        source: Iterable[str],
        target: str,
        attempt: int | None,
        values: Mapping[str, Any],
        event: EventRow,
    ) -> bool:
        if target in ENDED_BADLY:
            return super().transition(
                task_id, source=source, target=target, attempt=attempt, values=values, event=event
            )
        update = sql.task_update(task_id, statuses=source, attempt=attempt, values=values)
        extra = []
        if target == S.COMPLETED:
            extra.append(sql.release_dependents(("SELECT id FROM t", [])))
        return self._update_with_event(update, event, extra=extra) is not None

    def _update_with_event(
        self,
        update: sql.Prepared,
        event: EventRow,
        *,
        whole_row: bool = False,
        extra: list[sql.Prepared] = (),  # type: ignore[assignment]
    ) -> tuple[Any, ...] | None:
        """A conditional task UPDATE, its event and `extra` statements (each written to act
        only on what `t`, the update, returned), as one statement. Returns the updated row
        (its id, or every column with `whole_row`), or None when the update matched no row."""
        returning = ", ".join(sql.task_columns()) if whole_row else "id"
        insert = sql.insert_select(Event, event, "t", {})
        parts = [f"t AS ({update[0]} RETURNING {returning})", f"e AS ({insert[0]} RETURNING id)"]
        params = [*update[1], *insert[1]]
        for i, (statement, more) in enumerate(extra):
            parts.append(f"x{i} AS ({statement})")
            params += more
        statement = f"WITH {', '.join(parts)} SELECT (SELECT id FROM e), t.* FROM t"  # noqa: S608
        returned = sql.execute(statement, params)[1]
        if not returned:
            return None
        announce.on_commit([rows.saved(event, int(returned[0][0]))])
        return tuple(returned[0][1:])
