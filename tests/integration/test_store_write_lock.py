"""The store's transactions hold only their statements: event rows, lane rows and package
deletes are composed before a transaction opens, and the Task and Event objects handed back
are built after it. On SQLite the transaction holds the one write lock that the dispatcher,
every worker and every creating process queue for, so Python work inside it is paid by all
of them (`manage.py bench scheduler`, 'tasks created during the run')."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from scheduler.models import Task, TaskStatus
from scheduler.store import base, rows, sql
from scheduler.store.base import TaskStore

pytestmark = pytest.mark.django_db(transaction=True)  # each store call its own transaction


@pytest.fixture
def inside() -> list[str]:
    """What was composed or built while a transaction was open."""
    return []


@pytest.fixture(autouse=True)
def watch(monkeypatch: pytest.MonkeyPatch, inside: list[str]) -> None:
    def spy(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if connection.in_atomic_block:
                inside.append(name)
            return fn(*args, **kwargs)

        return wrapped

    for module, name in (
        (rows, "params"),
        (rows, "saved"),
        (rows, "compose"),
        (sql, "insert_params"),
        (sql, "lane_insert"),
        (sql, "task_from_row"),
        (base, "saved_task"),
        (base, "package_delete"),
    ):
        monkeypatch.setattr(module, name, spy(f"{module.__name__}.{name}", getattr(module, name)))


def new_task(name: str) -> Task:
    now = timezone.now()
    return Task(type="check", name=name, lane="check|-|-|local", created_at=now, scheduled_for=now)


def test_a_creation_composes_and_builds_outside_its_transaction(inside: list[str]) -> None:
    created = rows.compose("task.created", message="t", now=timezone.now())
    task = TaskStore().create(new_task("t"), created, dependencies=[])
    assert task.pk is not None
    assert inside == []


def test_a_start_and_a_completion_compose_and_build_outside_their_transactions(
    inside: list[str],
) -> None:
    store = TaskStore()
    now = timezone.now()
    task = store.create(new_task("t"), rows.compose("task.created", now=now), dependencies=[])
    [claim] = store.claim([task.pk], by="d1", now=now)
    inside.clear()
    started = store.start(task.pk, claim.attempt, now=now, package=12345)
    assert started is not None
    assert started.status == TaskStatus.RUNNING
    done = rows.compose("task.completed", task_id=task.pk, now=now)
    values = {"status": TaskStatus.COMPLETED, "finished_at": now}
    moved = store.transition(
        task.pk, source=[TaskStatus.RUNNING], target=TaskStatus.COMPLETED, attempt=1,
        values=values, event=done,
    )  # fmt: skip
    assert moved
    assert inside == []


def test_a_claim_builds_its_events_after_its_transaction(inside: list[str]) -> None:
    store = TaskStore()
    now = timezone.now()
    tasks = [
        store.create(new_task(f"t{i}"), rows.compose("task.created", now=now), dependencies=[])
        for i in range(3)
    ]
    inside.clear()
    claimed = store.claim([t.pk for t in tasks], by="d1", now=now)
    assert [c.task_id for c in claimed] == [t.pk for t in tasks]
    assert inside == []
