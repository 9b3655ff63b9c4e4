"""The partial indexes behind planning: SQLite uses a partial index only when the query spells
out its condition, so a query that drifts from it would scan every task, silently."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduler import selectors, services
from scheduler.dispatcher import Dispatcher

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="Postgres picks plans by statistics; SQLite's choice of a partial index is fixed",
    ),
]


def plan_of(run: object) -> str:
    with CaptureQueriesContext(connection) as queries:
        run()  # type: ignore[operator]
    sql = queries.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return " ".join(str(row[-1]) for row in cursor.fetchall())


def test_planning_and_listing_queries_use_the_partial_indexes() -> None:
    for i in range(3):
        services.task_schedule(type="check", name=f"t{i}")
    dispatcher = Dispatcher(name="plans", enqueue_fn=lambda *args: None)
    assert "task_next_due" in plan_of(lambda: dispatcher.next_due(timezone.now()))
    assert "task_lane_head" in plan_of(lambda: dispatcher.load_candidates(timezone.now()))
    assert "task_finished" in plan_of(lambda: list(selectors.task_finished(limit=5)))


def test_no_read_of_a_dispatcher_cycle_or_a_supervisor_beat_scans_the_task_table() -> None:
    """With the statistics of a long queue (every row pending), SQLite takes the status index
    for useless and scans the table: at 100,000 pending the in-flight count alone cost 150 ms a
    cycle. The in-flight reads name their index; any read that scans the tasks fails here."""
    from scheduler.models import Task

    now = timezone.now()
    Task.objects.bulk_create(
        [Task(type="check", name=f"q{i}", lane="check|-|-|local") for i in range(2000)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # the statistics of a queue that is all pending
    Task.objects.filter(pk__in=Task.objects.values("pk")[:3]).update(
        status="running", heartbeat_at=now, claimed_at=now, attempt=1
    )
    dispatcher = Dispatcher(name="plans", enqueue_fn=lambda *args: None)
    dispatcher.held = {"laptop": "host laptop offline since 12:00:00"}
    reads: list[tuple[str, tuple]] = []

    def keep(execute, sql, params, many, context):  # as run: bound parameters, not literals
        if sql.lstrip().upper().startswith("SELECT") and "scheduler_task" in sql:
            reads.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        dispatcher.cycle(now)
        dispatcher.reap(now)
        selectors.host_work(host="local", pool="ordinary")
    scans = []
    for sql, params in reads:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            steps = [str(row[-1]) for row in cursor.fetchall()]
        if "SCAN scheduler_task" in steps:
            scans.append(sql[:300])
    assert reads
    assert scans == []
