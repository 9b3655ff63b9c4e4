"""The dispatcher and the runner together, with django-q2 running packages inline."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scheduler import registry, services
from scheduler.dispatcher import Dispatcher
from scheduler.errors import TaskBlocked, TaskDeferred
from scheduler.handlers import check
from scheduler.models import Event, Task
from scheduler.registry import TaskType
from scheduler.runner import run
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def blocked_handler(ctx):
    raise TaskBlocked("sent? the service did not answer")


def deferred_handler(ctx):
    raise TaskDeferred(timezone.now() + timedelta(minutes=3), "X: 429, try in 3 m")


def self_cancelling(ctx):
    Task.objects.filter(pk=ctx.task.pk).update(cancel_requested=ctx.payload["flag"])
    ctx.sleep(10)


@pytest.fixture(autouse=True)
def test_types(settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "HEARTBEAT_SECONDS": 0.05}
    registry.register_task_type(TaskType("safari_job", check, safari_exclusive=True))
    registry.register_task_type(TaskType("blocks", blocked_handler))
    registry.register_task_type(TaskType("defers", deferred_handler))
    registry.register_task_type(TaskType("self_cancel", self_cancelling))


def kinds(task):
    return list(Event.objects.filter(task=task).order_by("id").values_list("kind", flat=True))


def test_a_task_runs_end_to_end(run_on_commit):
    task, _ = services.task_schedule(type="check", payload={"seconds": 0})
    run_on_commit(Dispatcher(name="d1").cycle)
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.result["ok"] is True
    assert task.attempt == 1
    assert kinds(task) == ["task.created", "task.claimed", "task.started", "task.completed"]


def test_a_dependent_runs_after_its_dependency(run_on_commit):
    first, _ = services.task_schedule(type="check", priority=5)
    second, _ = services.task_schedule(type="check", priority=1, dependencies=[first.pk])
    dispatcher = Dispatcher(name="d1")
    run_on_commit(dispatcher.cycle)
    second.refresh_from_db()
    assert Task.objects.get(pk=first.pk).status == "completed"
    assert (second.status, second.pending_deps) == ("pending", 0)
    run_on_commit(dispatcher.cycle)
    assert Task.objects.get(pk=second.pk).status == "completed"


def test_only_one_safari_task_is_claimed_per_host_and_the_other_says_why():
    claimed = []
    a, _ = services.task_schedule(type="safari_job")
    b, _ = services.task_schedule(type="safari_job")
    dispatcher = Dispatcher(name="d1", enqueue_fn=lambda *args: claimed.append(args))
    dispatcher.cycle()
    b.refresh_from_db()
    assert Task.objects.get(pk=a.pk).status == "scheduled"
    assert (b.status, b.wait_reason) == ("pending", "Safari on local is busy")


def test_the_database_refuses_a_second_safari_holder():
    TaskFactory(status="running", holds_safari=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskFactory(status="scheduled", holds_safari=True)


def test_a_failure_retries_with_backoff_then_fails(run_on_commit, settings):
    settings.SCHEDULER = {**settings.SCHEDULER, "BACKOFF_BASE_SECONDS": 60}
    task, _ = services.task_schedule(type="check", payload={"fail": "nope"}, max_retries=1)
    before = timezone.now()
    run_on_commit(Dispatcher(name="d1").cycle)
    task.refresh_from_db()
    assert (task.status, task.retry_count, task.error) == ("pending", 1, "nope")
    assert task.scheduled_for >= before + timedelta(seconds=30)
    Task.objects.filter(pk=task.pk).update(scheduled_for=timezone.now())
    run_on_commit(Dispatcher(name="d1").cycle)
    task.refresh_from_db()
    assert (task.status, task.attempt) == ("failed", 2)


def test_a_permanent_failure_does_not_retry(run_on_commit):
    task, _ = services.task_schedule(type="check", payload={"fail": "bad", "permanent": True})
    run_on_commit(Dispatcher(name="d1").cycle)
    task.refresh_from_db()
    assert (task.status, task.retry_count) == ("failed", 0)


def test_blocked_and_deferred_outcomes(run_on_commit):
    blocked, _ = services.task_schedule(type="blocks")
    deferred, _ = services.task_schedule(type="defers")
    run_on_commit(Dispatcher(name="d1").cycle)
    blocked.refresh_from_db()
    deferred.refresh_from_db()
    assert (blocked.status, blocked.wait_reason) == ("blocked", "sent? the service did not answer")
    assert (deferred.status, deferred.retry_count) == ("pending", 0)
    assert deferred.wait_reason == "X: 429, try in 3 m"
    assert deferred.scheduled_for > timezone.now() + timedelta(minutes=2)


def test_a_redelivered_package_never_runs_the_task_twice(run_on_commit):
    task, _ = services.task_schedule(type="check")
    run_on_commit(Dispatcher(name="d1").cycle)
    assert run(task.pk, 1) == ""
    assert run(task.pk, 7) == ""
    assert kinds(task).count("task.started") == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("flag", "status"), [("cancel", "cancelled"), ("requeue", "pending")])
def test_a_running_task_stops_cooperatively(flag, status):
    task, _ = services.task_schedule(type="self_cancel", payload={"flag": flag})
    Task.objects.filter(pk=task.pk).update(status="scheduled", attempt=1)
    assert run(task.pk, 1) == status
    assert Task.objects.get(pk=task.pk).status == status


def test_the_reaper_recovers_a_silent_worker_and_an_unstarted_claim():
    old = timezone.now() - timedelta(minutes=10)
    silent = TaskFactory(status="running", attempt=1, heartbeat_at=old, max_retries=2)
    exhausted = TaskFactory(
        status="running", attempt=3, heartbeat_at=old, retry_count=2, max_retries=2
    )
    unstarted = TaskFactory(status="scheduled", attempt=1, claimed_at=old)
    assert Dispatcher(name="d1").reap(timezone.now()) == 3
    silent.refresh_from_db()
    exhausted.refresh_from_db()
    assert silent.status == "pending"
    assert "no heartbeat" in silent.error
    assert exhausted.status == "failed"
    assert "worker lost" in exhausted.error
    assert Task.objects.get(pk=unstarted.pk).status == "pending"


def test_one_leader_at_a_time_and_a_standby_takes_over_when_the_lease_expires():
    now = timezone.now()
    leader, standby = Dispatcher(name="a"), Dispatcher(name="b")
    assert leader.take_lease(now)
    assert not standby.take_lease(now)
    assert leader.take_lease(now + timedelta(seconds=1))  # renew
    assert standby.take_lease(now + timedelta(minutes=5))
    assert not leader.take_lease(now + timedelta(minutes=5))


def test_its_own_claims_never_wake_the_dispatcher():
    dispatcher = Dispatcher(name="d1", enqueue_fn=lambda *args: None)
    services.task_schedule(type="check")
    mark = dispatcher.latest_wake_id()
    dispatcher.cycle()
    assert dispatcher.latest_wake_id() == mark
    services.task_schedule(type="check")
    assert dispatcher.latest_wake_id() > mark


def test_a_paused_scheduler_starts_nothing_and_says_why():
    services.scheduler_pause(reason="holiday")
    task, _ = services.task_schedule(type="check")
    Dispatcher(name="d1", enqueue_fn=lambda *args: None).cycle()
    task.refresh_from_db()
    assert (task.status, task.wait_reason) == ("pending", "paused: holiday")


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_failed_task_alerts_the_webhook_through_a_webhook_task(run_on_commit, settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        task, _ = services.task_schedule(type="check", payload={"fail": "x", "permanent": True})
        run_on_commit(Dispatcher(name="d1").cycle)
        hook = Task.objects.get(type="webhook")
        run_on_commit(Dispatcher(name="d1").cycle)
        hook.refresh_from_db()
    finally:
        server.shutdown()
    assert hook.status == "completed"
    assert _Hook.received[-1]["event"] == "task.failed"
    assert _Hook.received[-1]["taskId"] == str(task.pk)


def test_cleanup_prunes_what_is_older_than_retention(run_on_commit):
    old = timezone.now() - timedelta(days=90)
    stale = TaskFactory(status="completed", finished_at=old)
    Event.objects.create(kind="task.completed", created_at=old)
    fresh = TaskFactory(status="completed", finished_at=timezone.now())
    services.task_schedule(type="cleanup")
    run_on_commit(Dispatcher(name="d1").cycle)
    cleanup = Task.objects.get(type="cleanup")
    assert cleanup.status == "completed"
    assert cleanup.result["tasks"] == 1
    assert not Task.objects.filter(pk=stale.pk).exists()
    assert Task.objects.filter(pk=fresh.pk).exists()


def test_taking_the_lead_runs_the_on_lead_hooks_once_and_a_failing_hook_costs_nothing(
    monkeypatch,
):
    from scheduler import registry

    calls = []
    monkeypatch.setattr(
        registry,
        "_on_lead",
        {"boom": lambda now: 1 / 0, "probe": lambda now: calls.append(now)},
    )
    leader = Dispatcher(name="a", enqueue_fn=lambda *args: None)
    now = timezone.now()
    assert leader.take_lease(now)
    assert leader.take_lease(now + timedelta(seconds=5))  # a renewal is not a new lead
    assert calls == [now]
    standby = Dispatcher(name="b", enqueue_fn=lambda *args: None)
    later = now + timedelta(minutes=5)
    assert standby.take_lease(later)
    assert calls == [now, later]
