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
