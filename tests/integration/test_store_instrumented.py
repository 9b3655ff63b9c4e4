"""The hot path's statements go through Django's cursor on every database, so query
instrumentation (`CaptureQueriesContext`, `connection.execute_wrapper`) sees each of them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from scheduler import services
from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Task
from scheduler.runner import run

pytestmark = pytest.mark.django_db(transaction=True)


def written(sqls: list[str], table: str) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE", "WITH")
    return [sql for sql in sqls if sql.lstrip().upper().startswith(verbs) and table in sql]


def test_create_claim_start_and_finish_are_captured() -> None:
    task_table, event_table = Task._meta.db_table, Event._meta.db_table
    with CaptureQueriesContext(connection) as created:
        task, _ = services.task_schedule(type="check", name="seen")
    with CaptureQueriesContext(connection) as claimed:
        Dispatcher(name="d1", enqueue_fn=lambda *args: None).claim((task.pk,), timezone.now(), {})
    with CaptureQueriesContext(connection) as ran:
        assert run(task.pk, 1) == "completed"
    for captured in (created, claimed, ran):
        sqls = [query["sql"] for query in captured.captured_queries]
        assert written(sqls, task_table), sqls
        assert written(sqls, event_table), sqls
    ran_sqls = [query["sql"] for query in ran.captured_queries]
    assert len(written(ran_sqls, task_table)) >= 2  # the start and the completion


def test_an_execute_wrapper_sees_the_start() -> None:
    task, _ = services.task_schedule(type="check", name="wrapped")
    Dispatcher(name="d1", enqueue_fn=lambda *args: None).claim((task.pk,), timezone.now(), {})
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert run(task.pk, 1) == "completed"
    assert len(written(seen, Task._meta.db_table)) >= 2  # the start and the completion
    assert written(seen, Event._meta.db_table)
