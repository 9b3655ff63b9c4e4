"""Text the scheduler keeps rather than refuses (a service's answer, an error, a row stored
before creation checked its input) never breaks the queue, a task's detail or its cancel."""

import pytest
from django.db import connection

from scheduler import registry, services
from scheduler.dispatcher import Dispatcher
from scheduler.errors import TaskError
from scheduler.models import Event, Task
from scheduler.registry import TaskType
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

BAD = "caf\udfff \x00end"


def answers_with_bad_text(ctx):
    return {"reply": BAD, "items": [BAD]}


def fails_with_bad_text(ctx):
    raise TaskError(f"service said {BAD}", permanent=True)


@pytest.fixture(autouse=True)
def bad_types(monkeypatch):
    monkeypatch.setitem(registry._types, "echo_bad", TaskType("echo_bad", answers_with_bad_text))
    monkeypatch.setitem(registry._types, "fail_bad", TaskType("fail_bad", fails_with_bad_text))


@pytest.mark.parametrize("kind", ["echo_bad", "fail_bad"])
def test_a_handlers_bad_text_is_stored_readable(api, run_on_commit, kind):
    task, _ = services.task_schedule(type=kind)
    run_on_commit(Dispatcher(name="d1").cycle)
    task.refresh_from_db()
    assert task.status in ("completed", "failed")
    assert "\udfff" not in str(task.result) + task.error
    assert "\ufffd" in str(task.result) + task.error
    assert all("\udfff" not in e.message for e in Event.objects.filter(task=task))
    assert api.get(f"/api/scheduler/task/{task.pk}").status_code == 200
    assert api.get("/api/scheduler/completed").status_code == 200


def test_a_row_stored_before_the_checks_does_not_break_the_queue(api):
    if connection.vendor != "sqlite":
        pytest.skip("Postgres never stored such a row: it refuses the text itself")
    task = TaskFactory(name="legacy", payload={"note": BAD, BAD: 1})  # JSON is stored escaped
    queue = api.get("/api/scheduler/queue")
    assert queue.status_code == 200
    assert queue.json()["queue"][0]["payload"]["note"] == "caf\ufffd \ufffdend"
    assert api.get(f"/api/scheduler/task/{task.pk}").status_code == 200
    assert api.delete(f"/api/scheduler/task/{task.pk}").status_code == 200
    assert Task.objects.get().status == "cancelled"
