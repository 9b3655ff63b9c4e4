"""The task store's contract: the same rows, events and signals on every database.

The integration suite runs on SQLite by default and on Postgres with DATABASE_URL, so each
behaviour here holds for `SqliteStore` and `PostgresStore` alike. Every test runs twice: in
autocommit, as the processes run the hot path (Postgres folds each step into one statement),
and inside a caller's transaction (the portable path on every database).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_q.models import OrmQ

from scheduler import services, signals
from scheduler.models import Event, Lane, Task
from scheduler.store import Claim, compose, get_store
from scheduler.store.rows import event_fields

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=["autocommit", "in a transaction"])
def step(request: pytest.FixtureRequest) -> Any:
    """How each store call runs: on its own, or inside a caller's transaction."""

    def within() -> AbstractContextManager[Any]:
        return nullcontext() if request.param == "autocommit" else transaction.atomic()

    return within


def new(name: str = "t", **kwargs: Any) -> Task:
    return services.task_schedule(type="check", name=name, **kwargs)[0]


def kinds(task_id: int) -> list[str]:
    return list(Event.objects.filter(task_id=task_id).order_by("id").values_list("kind", flat=True))


def claim(step: Any, *tasks: Task, by: str = "d1") -> list[Claim]:
    with step():
        return get_store().claim([t.pk for t in tasks], by=by, now=timezone.now())


def started(step: Any, task: Task, attempt: int = 1, package: int | None = None) -> Task | None:
    with step():
        return get_store().start(task.pk, attempt, now=timezone.now(), package=package)


def move(step: Any, task: Task, target: str, kind: str, source: str = "running") -> bool:
    with step():
        return get_store().transition(
            task.pk,
            source=[source],
            target=target,
            attempt=None,
            values={"status": target, "finished_at": timezone.now()},
            event=compose(kind, task_id=task.pk, message=target),
        )


@pytest.fixture
def recorded() -> Iterator[list[str]]:
    """The kinds `event_recorded` fired for, in order."""
    seen: list[str] = []

    def receiver(sender: Event, event: Event, **_: Any) -> None:
        seen.append(event.kind)

    signals.event_recorded.connect(receiver, weak=False)
    yield seen
    signals.event_recorded.disconnect(receiver)


def test_the_store_is_chosen_by_the_database_vendor() -> None:
    assert get_store().vendor == connection.vendor


def test_creating_writes_the_lane_the_task_and_its_event(step: Any, recorded: list[str]) -> None:
    with step():
        task = new("first")
        again = new("second")
    assert Task.objects.get(pk=task.pk).name == "first"
    assert list(Lane.objects.values_list("key", flat=True)) == ["check|-|-|local"]
    event = Event.objects.get(task_id=task.pk)
    assert (event.kind, event.subject, event.subject_id, event.message, event.wakes) == (
        "task.created",
        "task",
        str(task.pk),
        "first",
        True,
    )
    assert (task.pk, task.status, again.pk > task.pk) == (event.task_id, "pending", True)
    assert recorded == ["task.created", "task.created"]  # once each, on commit


def test_a_dependency_holds_a_task_until_it_completes(step: Any) -> None:
    root = new("root")
    with step():
        child = new("child", dependencies=[root.pk])
    assert (child.pending_deps, list(child.dependencies.values_list("pk", flat=True))) == (
        1,
        [root.pk],
    )
    assert claim(step, root, child) == [Claim(root.pk, 1, "check", "local")]
    assert started(step, root) is not None
    assert move(step, root, "completed", "task.completed")
    assert Task.objects.get(pk=child.pk).pending_deps == 0
    assert [c.task_id for c in claim(step, child)] == [child.pk]


def test_a_claim_takes_ready_tasks_in_plan_order_with_an_event_each(
    step: Any, recorded: list[str]
) -> None:
    first, second = new("first"), new("second")
    recorded.clear()
    claims = claim(step, second, first)
    assert [(c.task_id, c.attempt) for c in claims] == [(second.pk, 1), (first.pk, 1)]
    for task in (first, second):
        event = Event.objects.get(task_id=task.pk, kind="task.claimed")
        assert (event.subject_id, event.data, event.wakes) == (
            str(task.pk),
            {"attempt": 1, "by": "d1"},
            False,
        )
        row = Task.objects.get(pk=task.pk)
        assert (row.status, row.claimed_by, row.attempt) == ("scheduled", "d1", 1)
    assert recorded == ["task.claimed", "task.claimed"]
    assert claim(step, first) == []  # no longer pending
    assert claim(step) == []


def test_the_safari_rule_refuses_a_second_holder_and_the_rest_is_claimed(step: Any) -> None:
    one = new("one", requirements={"safariExclusive": True})
    two = new("two", requirements={"safariExclusive": True})
    plain = new("plain")
    claims = claim(step, one, two, plain)
    assert [c.task_id for c in claims] == [one.pk, plain.pk]
    assert Task.objects.get(pk=one.pk).holds_safari
    assert Task.objects.get(pk=two.pk).status == "pending"
    assert kinds(two.pk) == ["task.created"]


def test_a_start_returns_the_running_task_once_per_attempt(step: Any) -> None:
    task = new("run me", payload={"seconds": 0})
    claim(step, task)
    assert started(step, task, attempt=2) is None  # not this attempt's
    running = started(step, task)
    assert running is not None
    assert (running.pk, running.status, running.attempt, running.payload) == (
        task.pk,
        "running",
        1,
        {"seconds": 0},
    )
    assert isinstance(running.started_at, datetime)
    assert running.started_at.tzinfo is not None
    assert running.heartbeat_at == running.started_at
    assert started(step, task) is None  # delivered again: not run twice
    assert kinds(task.pk) == ["task.created", "task.claimed", "task.started"]
    assert not Event.objects.get(task_id=task.pk, kind="task.started").wakes


def test_a_start_names_its_worker_in_the_result_keeping_what_an_attempt_left(step: Any) -> None:
    fresh, resumed, odd = new("fresh"), new("resumed"), new("odd")
    Task.objects.filter(pk=resumed.pk).update(result={"commandId": "c-1", "pid": 1})
    Task.objects.filter(pk=odd.pk).update(result=["not", "an", "object"])
    claim(step, fresh, resumed, odd)
    runs = []
    for task in (fresh, resumed, odd):
        with step():
            runs.append(get_store().start(task.pk, 1, now=timezone.now(), pid=4321))
    assert [run.result for run in runs if run is not None] == [
        {"pid": 4321},
        {"commandId": "c-1", "pid": 4321},  # the earlier attempt's progress stays
        ["not", "an", "object"],  # no object to name it in: left as it was
    ]
    stored = dict(Task.objects.filter(pk__in=[fresh.pk, resumed.pk]).values_list("pk", "result"))
    assert stored == {fresh.pk: {"pid": 4321}, resumed.pk: {"commandId": "c-1", "pid": 4321}}


def test_a_start_acknowledges_the_broker_package_that_delivered_it(step: Any) -> None:
    task = new("delivered")
    claim(step, task)
    late = OrmQ.objects.create(key="q", payload="late", lock=timezone.now())
    assert started(step, task, attempt=2, package=late.pk) is None
    assert OrmQ.objects.filter(pk=late.pk).exists()  # not started: left to the monitor
    package = OrmQ.objects.create(key="q", payload="p", lock=timezone.now())
    assert started(step, task, package=package.pk) is not None
    assert not OrmQ.objects.filter(pk=package.pk).exists()


def test_a_failure_fails_its_dependents_transitively_naming_the_dependency(
    step: Any, recorded: list[str]
) -> None:
    root = new("root")
    child = new("child", dependencies=[root.pk])
    grandchild = new("grandchild", dependencies=[child.pk])
    claim(step, root)
    started(step, root)
    recorded.clear()
    assert move(step, root, "failed", "task.failed")
    rows = {t.pk: t for t in Task.objects.filter(pk__in=[child.pk, grandchild.pk])}
    assert (rows[child.pk].status, rows[child.pk].error) == (
        "failed",
        f"dependency #{root.pk} failed",
    )
    assert rows[child.pk].result == {"failedDependency": root.pk}
    assert rows[grandchild.pk].error == f"dependency #{child.pk} failed"
    assert kinds(grandchild.pk) == ["task.created", "task.failed"]
    assert recorded == ["task.failed"] * 3


def test_a_cancellation_fails_the_dependents_too(step: Any) -> None:
    root = new("root")
    child = new("child", dependencies=[root.pk])
    assert move(step, root, "cancelled", "task.cancelled", source="pending")
    assert Task.objects.get(pk=child.pk).error == f"dependency #{root.pk} cancelled"


def test_a_stale_transition_changes_nothing(step: Any, recorded: list[str]) -> None:
    task = new("t")
    recorded.clear()
    assert not move(step, task, "completed", "task.completed")  # it is pending, not running
    assert (Task.objects.get(pk=task.pk).status, kinds(task.pk)) == ("pending", ["task.created"])
    assert recorded == []


def test_a_completion_fires_the_task_signal_with_the_task(step: Any) -> None:
    senders: list[Any] = []

    def receiver(sender: Any, **_: Any) -> None:
        senders.append(sender)

    signals.task_complete.connect(receiver, weak=False)
    try:
        task = new("done")
        claim(step, task)
        started(step, task)
        assert move(step, task, "completed", "task.completed")
    finally:
        signals.task_complete.disconnect(receiver)
    assert [(type(s), s.pk, s.status) for s in senders] == [(Task, task.pk, "completed")]


def test_every_path_fills_every_event_column() -> None:
    """A column added to Event reaches every insert path through its default."""
    task = new("all paths")
    get_store().claim([task.pk], by="d1", now=timezone.now())
    get_store().start(task.pk, 1, now=timezone.now())
    move(nullcontext, task, "completed", "task.completed")
    names = [f.attname for f in event_fields()]
    assert set(compose("x")) == set(names)
    for event in Event.objects.filter(task_id=task.pk):
        assert all(getattr(event, name) is not None for name in names), event.kind
