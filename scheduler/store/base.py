"""The task store: every write to Task, Event and Lane, as short transactions of plain
statements. Correct on every database; `PostgresStore` folds the hot ones into one statement.

Statements, event rows included, are composed before a transaction opens, and the Task and
Event objects handed back are built after: on SQLite the transaction holds the one write
lock, which every worker, the dispatcher and each creating process queue for, so only the
statements themselves run under it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django_q.models import OrmQ

from scheduler.models import FINAL_STATUSES, Event, Task, TaskStatus
from scheduler.store import announce, rows, sql
from scheduler.store.rows import EventRow

S = TaskStatus
ENDED_BADLY = (S.FAILED, S.CANCELLED)


class Claim(NamedTuple):
    """A task the dispatcher claimed: what its package carries."""

    task_id: int
    attempt: int
    type: str
    safari_host: str


class TaskStore:
    """Create, claim, start, transition and finish tasks, with their events and lanes."""

    vendor = ""

    # --- events -------------------------------------------------------------------------

    def record(self, row: EventRow, task: Task | None = None) -> Event:
        """Write one event row; its signals fire on commit."""
        _, returned = sql.execute(f"{sql.insert_values(Event)} RETURNING id", rows.params(row))
        event = rows.saved(row, int(returned[0][0]))
        announce.on_commit([event], task)
        return event

    def _write_event(self, row: EventRow, params: list[Any]) -> None:
        """Write one event row whose `params` were composed before the transaction; its
        Event is built, and its signals fire, on commit."""
        _, returned = sql.execute(f"{sql.insert_values(Event)} RETURNING id", params)
        announce.rows_on_commit([(row, int(returned[0][0]))])

    def _record_claims(
        self, claimed: list[Claim], prototype: EventRow, composed: list[Any]
    ) -> None:
        """One INSERT of the claims' `task.claimed` rows. They differ only in their task and
        its attempt: each is a copy of `prototype` (and of its parameters, `composed` before
        the transaction) with those filled in."""
        if not claimed:
            return
        task_at, subject_at = rows.task_positions()
        data_at = rows.position("data")
        written: list[EventRow] = []
        params = []
        for claim in claimed:
            data = {**prototype["data"], "attempt": claim.attempt}
            row = list(composed)
            row[task_at], row[subject_at] = claim.task_id, str(claim.task_id)
            row[data_at] = sql.value(Event, "data", data)
            params += row
            written.append(
                {
                    **prototype,
                    "task_id": claim.task_id,
                    "subject_id": str(claim.task_id),
                    "data": data,
                }
            )
        insert = sql.insert_values(Event, len(claimed))
        _, returned = sql.execute(f"{insert} RETURNING id, task_id", params)
        ids = {int(task_id): int(pk) for pk, task_id in returned}
        announce.rows_on_commit([(row, ids[row["task_id"]]) for row in written])

    # --- create -------------------------------------------------------------------------

    def create(self, task: Task, created: EventRow, *, dependencies: list[int]) -> Task:
        """Insert `task` (its lane if new, its dependencies, its `created` event): the saved
        Task. The event's task id and subject are filled in from the new row."""
        values = {f.attname: f.pre_save(task, add=True) for f in sql.insert_fields(Task)}
        insert = f"{sql.insert_values(Task)} RETURNING id", sql.insert_params(Task, values)
        lane = sql.lane_insert(task.lane, task.created_at)
        event = rows.params(created)
        built: list[Task] = []  # the saved Task, built once, outside the write lock

        def saved() -> Task:
            if not built:
                built.append(saved_task(pk, values))
            return built[0]

        with transaction.atomic():
            sql.execute(*lane)
            pk = int(sql.execute(*insert)[1][0][0])
            if dependencies:
                saved().dependencies.set(dependencies)
            row = {**created, "task_id": pk, "subject_id": str(pk)}
            _, returned = sql.execute(
                f"{sql.insert_values(Event)} RETURNING id", rows.params_for_task(event, pk)
            )
            announce.rows_on_commit([(row, int(returned[0][0]))], saved)
        return saved()

    # --- claim --------------------------------------------------------------------------

    def claim(
        self,
        task_ids: list[int],
        *,
        by: str,
        now: datetime,
        hosts: Mapping[int, str] | None = None,
    ) -> list[Claim]:
        """Claim the ready ones among `task_ids` (pending → scheduled, next attempt), with a
        `task.claimed` event each, in planning order. If the database's Safari rule refuses
        the batch (a race the plan could not see), claim one by one and skip the refused.
        `hosts` names the host picked for each unpinned task (written on its row)."""
        if not task_ids:  # no transaction (on SQLite, no write lock) for an empty plan
            return []
        prototype = claimed_event(Claim(0, 0, "", ""), by=by, now=now)
        composed = rows.params(prototype)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claimed = _claim(task_ids, by=by, now=now, hosts=hosts)
            except IntegrityError:
                claimed = self._claim_one_by_one(task_ids, by=by, now=now, hosts=hosts)
            claimed = in_order(claimed, task_ids)
            self._record_claims(claimed, prototype, composed)
        return claimed

    def _claim_one_by_one(
        self, task_ids: list[int], *, by: str, now: datetime, hosts: Mapping[int, str] | None
    ) -> list[Claim]:
        claimed = []
        for task_id in task_ids:
            try:
                with transaction.atomic():
                    claimed += _claim([task_id], by=by, now=now, hosts=hosts)
            except IntegrityError:  # the database's Safari rule said no
                continue
        return claimed

    # --- start --------------------------------------------------------------------------

    def start(
        self,
        task_id: int,
        attempt: int,
        *,
        now: datetime,
        package: int | None = None,
        pid: int | None = None,
    ) -> Task | None:
        """scheduled → running at `attempt`, with its `task.started` event: the task, or None
        when it is no longer this attempt's to run. `package` is the ORM broker's row that
        delivered it: deleted in the same transaction (acknowledged with the start). `pid`,
        the worker process that runs it, goes into its result (`result["pid"]`)."""
        update = sql.start_update(task_id, attempt=attempt, now=now, pid=pid)
        update = f"{update[0]} RETURNING {', '.join(sql.task_columns())}", update[1]
        started = rows.compose("task.started", task_id=task_id, now=now)
        event = rows.params(started)
        acknowledge = package_delete(package) if package is not None else None
        with transaction.atomic():
            _, returned = sql.execute(*update)
            if not returned:
                return None
            self._write_event(started, event)
            if acknowledge is not None:
                sql.execute(*acknowledge)
        return sql.task_from_row(tuple(returned[0]))

    # --- transitions --------------------------------------------------------------------

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
        """Move one task from any of `source` to `target` (setting `values`), with its event;
        a completion releases its dependents, a failure or cancellation fails them. False
        when someone else moved it first."""
        update = sql.task_update(task_id, statuses=source, attempt=attempt, values=values)
        event_params = rows.params(event)
        with transaction.atomic():
            if not sql.execute(*update)[0]:
                return False
            self._write_event(event, event_params)
            if target == S.COMPLETED:
                sql.execute(*sql.release_dependents(("%s", [task_id])))
            elif target in ENDED_BADLY:
                self._fail_dependents(
                    task_id, f"dependency #{task_id} {target}", event["created_at"]
                )
        return True

    def _fail_dependents(self, task_id: int, reason: str, now: datetime) -> None:
        """A failed or cancelled dependency fails its dependents, transitively, each naming
        the dependency that failed it."""
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
                    self.record(
                        rows.compose("task.failed", task_id=dependent, message=why, now=now)
                    )
                    frontier.append((dependent, f"dependency #{dependent} failed"))

    # --- while a task runs, and what people ask of it -----------------------------------

    def release_safari(self, task: Task, event: EventRow) -> bool:
        """Give Safari back while the task goes on; False if it held none."""
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, attempt=task.attempt, holds_safari=True).update(
                holds_safari=False
            ):
                return False
            self.record(event, task)
        return True

    def save_progress(self, task_id: int, attempt: int, result: Any) -> None:
        Task.objects.filter(pk=task_id, attempt=attempt).update(result=result)

    def beat(self, task_id: int, attempt: int, now: datetime) -> str:
        """Touch a running attempt's heartbeat: its cancel request ('' when none)."""
        running = Task.objects.filter(pk=task_id, attempt=attempt, status=S.RUNNING)
        running.update(heartbeat_at=now)
        return running.values_list("cancel_requested", flat=True).first() or ""

    def request_cancel(self, task: Task, event: EventRow) -> bool:
        """Ask a running task to stop cooperatively; False if it is not running."""
        with transaction.atomic():
            if not Task.objects.filter(pk=task.pk, status=S.RUNNING).update(
                cancel_requested="cancel"
            ):
                return False
            self.record(event, task)
        return True

    def request_requeue_all(self) -> int:
        """Ask every running task to stop back to pending: how many were asked."""
        return Task.objects.filter(status=S.RUNNING).update(cancel_requested="requeue")

    def note_waits(self, task_ids_by_reason: Mapping[str, list[int]]) -> None:
        """Why each pending task waits (the planner's words)."""
        for reason, ids in task_ids_by_reason.items():
            Task.objects.filter(pk__in=ids, status=S.PENDING).update(wait_reason=reason)

    def prune(self, before: datetime, *, keep: int) -> tuple[int, int]:
        """Delete finished tasks (but `keep`) and events older than `before`: (events, tasks).
        Events of unfinished tasks are their history and audit trail: they stay."""
        unfinished = Task.objects.exclude(status__in=FINAL_STATUSES).values("pk")
        old = Event.objects.filter(created_at__lt=before).exclude(task_id__in=unfinished)
        events, _ = old.delete()
        finished = Task.objects.filter(status__in=FINAL_STATUSES, finished_at__lt=before)
        tasks, _ = finished.exclude(pk=keep).delete()
        return events, tasks


class SqliteStore(TaskStore):
    """SQLite runs in-process: a statement costs no round trip, so the portable
    transactions are as fast as anything folded together."""

    vendor = "sqlite"


def _claim(
    task_ids: list[int], *, by: str, now: datetime, hosts: Mapping[int, str] | None = None
) -> list[Claim]:
    if not task_ids:
        return []
    _, returned = sql.execute(*sql.claim_update(task_ids, by=by, now=now, hosts=hosts))
    return [Claim(int(i), int(a), str(t), str(h)) for i, a, t, h in returned]


def in_order(claimed: list[Claim], task_ids: list[int]) -> list[Claim]:
    """`claimed` in the order of `task_ids` (the plan's order, which packages keep)."""
    order = {task_id: i for i, task_id in enumerate(task_ids)}
    return sorted(claimed, key=lambda c: order[c.task_id])


def claimed_event(claim: Claim, *, by: str, now: datetime) -> EventRow:
    return rows.compose(
        "task.claimed", task_id=claim.task_id, data={"attempt": claim.attempt, "by": by}, now=now
    )


def package_delete(package: int) -> sql.Prepared:
    """Acknowledge an ORM-broker package: its row deleted (the broker shares our database)."""
    return f"DELETE FROM {sql.table(OrmQ)} WHERE id = %s", [package]  # noqa: S608


def saved_task(pk: int, values: Mapping[str, Any]) -> Task:
    names = ["id", *values]
    return Task.from_db(DEFAULT_DB_ALIAS, names, [pk, *values.values()])
