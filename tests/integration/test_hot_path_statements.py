"""The hot path outside any transaction, as the processes run it: on Postgres each step is one
statement (CTEs), on SQLite a short transaction under the writer lock. Same rows either way."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import connection

from scheduler import services
from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Task
from scheduler.runner import run

pytestmark = pytest.mark.django_db(transaction=True)


def kinds(task_id: int) -> list[str]:
    return list(Event.objects.filter(task_id=task_id).order_by("id").values_list("kind", flat=True))


def test_create_claim_start_finish_write_the_same_rows_on_every_database() -> None:
    assert connection.get_autocommit()  # not inside a test transaction: the fast paths run
    first, created = services.task_schedule(type="check", name="first")
    second, _ = services.task_schedule(type="check", name="second", dependencies=[first.pk])
    assert created
    event = Event.objects.get(task_id=first.pk, kind="task.created")
    assert (event.subject, event.subject_id, event.message, event.wakes) == (
        "task",
        str(first.pk),
        "first",
        True,
    )
    claimed: list[tuple[int, int, str, str]] = []
    dispatcher = Dispatcher(name="d1", enqueue_fn=lambda *args: claimed.append(args))
    dispatcher.cycle()
    assert [row[:2] for row in claimed] == [(first.pk, 1)]  # the second waits for the first
    claim = Event.objects.get(task_id=first.pk, kind="task.claimed")
    assert (claim.data, claim.wakes) == ({"attempt": 1, "by": "d1"}, False)
    assert run(first.pk, 1) == "completed"
    assert run(first.pk, 1) == ""  # delivered again: not run twice
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempt, first.started_at is not None) == ("completed", 1, True)
    assert second.pending_deps == 0  # released by the completion
    assert kinds(first.pk) == ["task.created", "task.claimed", "task.started", "task.completed"]
    dispatcher.cycle()
    assert [row[0] for row in claimed] == [first.pk, second.pk]


def test_a_repeated_idempotency_key_answers_with_the_first_task() -> None:
    one, created_one = services.task_schedule(type="check", idempotency_key="same")
    two, created_two = services.task_schedule(type="check", idempotency_key="same")
    assert (one.pk, created_one, created_two) == (two.pk, True, False)
    assert Task.objects.filter(idempotency_key="same").count() == 1


def test_a_task_names_the_worker_that_runs_it_in_the_writes_it_already_makes() -> None:
    """Any task's result says which worker process ran it (what operators and the chaos suite
    kill), written with the start: a task that waits a moment writes its row as often as one
    that does nothing (the start, the end, its dependents' release)."""
    quick, _ = services.task_schedule(type="check", name="quick")
    waits, _ = services.task_schedule(type="check", name="waits", payload={"seconds": 0.05})
    broken, _ = services.task_schedule(
        type="check", name="broken", payload={"fail": "boom", "permanent": True}
    )
    Dispatcher(name="d1", enqueue_fn=lambda *args: None).cycle()
    writes: dict[int, list[str]] = {}

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        verbs = ("INSERT", "UPDATE", "DELETE", "WITH")
        if sql.lstrip().upper().startswith(verbs) and Task._meta.db_table in sql:
            writes[current].append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        for task in (quick, waits, broken):
            current = task.pk
            writes[current] = []
            run(task.pk, 1)
    assert len(writes[waits.pk]) == len(writes[quick.pk]), writes
    broken.refresh_from_db()
    assert (broken.status, broken.result) == ("failed", {"pid": os.getpid()})
