"""The TaskScheduler services: schedule, cancel, reschedule, retry, decide, pause, stop."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduler import registry, services, signals
from scheduler.handlers import check
from scheduler.lifecycle import fail_attempt
from scheduler.models import Event, Pause, SchedulerState, Task
from scheduler.registry import TaskType
from scheduler.services import InvalidTransition, TaskNotFound

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def safari_type():
    registry.register_task_type(TaskType("safari_job", check, safari_exclusive=True))


def test_a_scheduled_task_is_pending_with_an_event_in_the_same_transaction():
    task, created = services.task_schedule(type="check", name="hello", priority=2)
    assert created
    assert task.status == "pending"
    assert task.lane == "check|-|-|local"
    assert list(Event.objects.filter(task=task).values_list("kind", flat=True)) == ["task.created"]


def test_a_client_can_add_requirements_but_never_remove_them():
    task, _ = services.task_schedule(type="safari_job", requirements={"safariExclusive": False})
    assert task.req_safari_exclusive is True
    added, _ = services.task_schedule(
        type="check", requirements={"safariExclusive": True, "soraCredits": 2}
    )
    assert added.req_safari_exclusive is True
    assert added.req_sora_credits == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"type": "nope"}, "type"),
        ({"type": "check", "priority": 9}, "priority"),
        ({"type": "check", "dependencies": [99999]}, "dependencies"),
        ({"type": "check", "safari_host": "elsewhere"}, "safariHost"),
        ({"type": "check", "requirements": {"soraCredits": -1}}, "resourceRequirements"),
    ],
)
def test_bad_input_is_refused_naming_the_field(kwargs, field):
    with pytest.raises(ValidationError) as error:
        services.task_schedule(**kwargs)
    assert field in error.value.message_dict


def test_an_idempotency_key_returns_the_first_task():
    first, created = services.task_schedule(type="check", idempotency_key="k-1")
    again, created_again = services.task_schedule(type="check", name="other", idempotency_key="k-1")
    assert created
    assert not created_again
    assert again.pk == first.pk
    assert Task.objects.count() == 1


def test_dependencies_count_until_completed():
    first, _ = services.task_schedule(type="check")
    second, _ = services.task_schedule(type="check", dependencies=[first.pk])
    assert second.pending_deps == 1


def test_a_failed_dependency_fails_its_dependents_transitively_with_the_reason():
    root, _ = services.task_schedule(type="check")
    child, _ = services.task_schedule(type="check", dependencies=[root.pk])
    grandchild, _ = services.task_schedule(type="check", dependencies=[child.pk])
    Task.objects.filter(pk=root.pk).update(status="running", attempt=1, retry_count=3)
    root.refresh_from_db()
    assert fail_attempt(root, "boom", permanent=True, attempt=1) == "failed"
    child.refresh_from_db()
    grandchild.refresh_from_db()
    assert child.status == "failed"
    assert child.error == f"dependency #{root.pk} failed"
    assert grandchild.status == "failed"
    assert grandchild.error == f"dependency #{child.pk} failed"


def test_a_task_depending_on_a_cancelled_task_fails_at_once():
    root, _ = services.task_schedule(type="check")
    services.task_cancel(task_id=root.pk)
    late, _ = services.task_schedule(type="check", dependencies=[root.pk])
    assert late.status == "failed"
    assert "already failed or was cancelled" in late.error


def test_cancel_a_queued_task_cancels_it_and_its_dependents():
    root, _ = services.task_schedule(type="check")
    child, _ = services.task_schedule(type="check", dependencies=[root.pk])
    services.task_cancel(task_id=root.pk)
    child.refresh_from_db()
    assert Task.objects.get(pk=root.pk).status == "cancelled"
    assert child.status == "failed"
    assert child.error == f"dependency #{root.pk} cancelled"


def test_cancel_a_running_task_asks_it_to_stop():
    task, _ = services.task_schedule(type="check")
    Task.objects.filter(pk=task.pk).update(status="running")
    task = services.task_cancel(task_id=task.pk)
    assert task.status == "running"
    assert task.cancel_requested == "cancel"


def test_cancel_a_finished_task_is_a_conflict():
    task, _ = services.task_schedule(type="check")
    services.task_cancel(task_id=task.pk)
    with pytest.raises(InvalidTransition, match="already cancelled"):
        services.task_cancel(task_id=task.pk)
    with pytest.raises(TaskNotFound):
        services.task_cancel(task_id=424242)


def test_reschedule_moves_a_queued_task():
    task, _ = services.task_schedule(type="check")
    later = timezone.now() + timedelta(hours=2)
    task = services.task_reschedule(task_id=task.pk, when=later)
    assert task.scheduled_for == later
    assert Event.objects.filter(task=task, kind="task.rescheduled").exists()
    Task.objects.filter(pk=task.pk).update(status="running")
    with pytest.raises(InvalidTransition):
        services.task_reschedule(task_id=task.pk, when=later)


def test_retry_runs_the_same_task_again_with_attempts_reset_and_revives_dependents():
    root, _ = services.task_schedule(type="check")
    child, _ = services.task_schedule(type="check", dependencies=[root.pk])
    Task.objects.filter(pk=root.pk).update(status="running", attempt=4, retry_count=3)
    root.refresh_from_db()
    fail_attempt(root, "boom", permanent=False, attempt=4)
    root = services.task_retry(task_id=root.pk)
    child.refresh_from_db()
    assert (root.status, root.retry_count, root.error) == ("pending", 0, "")
    assert (child.status, child.pending_deps) == ("pending", 1)
    with pytest.raises(InvalidTransition):
        services.task_retry(task_id=root.pk)


def test_decide_a_blocked_task():
    task, _ = services.task_schedule(type="check")
    Task.objects.filter(pk=task.pk).update(status="blocked", wait_reason="send unknown")
    with pytest.raises(ValidationError):
        services.task_decide(task_id=task.pk, decision="maybe")
    done = services.task_decide(task_id=task.pk, decision="done", note="I checked")
    assert done.status == "completed"
    other, _ = services.task_schedule(type="check")
    Task.objects.filter(pk=other.pk).update(status="blocked")
    assert services.task_decide(task_id=other.pk, decision="retry").status == "pending"
    with pytest.raises(InvalidTransition):
        services.task_decide(task_id=other.pk, decision="retry")


def test_pause_and_resume_are_persisted_per_scope():
    services.scheduler_pause(reason="lunch")
    services.scheduler_pause(platform="twitter", reason="X is flaky")
    services.scheduler_pause(platform="tiktok", account="alt", reason="warming")
    assert Pause.objects.count() == 3
    assert services.scheduler_resume(platform="twitter") == 1
    assert services.scheduler_resume() == 1
    assert list(Pause.objects.values_list("platform", flat=True)) == ["tiktok"]
    with pytest.raises(ValidationError):
        services.scheduler_pause(account="alt")


def test_stop_pauses_and_asks_running_tasks_to_requeue_and_start_lifts_it():
    task, _ = services.task_schedule(type="check")
    Task.objects.filter(pk=task.pk).update(status="running")
    assert services.scheduler_stop() == 1
    assert Task.objects.get(pk=task.pk).cancel_requested == "requeue"
    assert SchedulerState.objects.get(pk=1).stopped
    services.scheduler_start()
    assert not SchedulerState.objects.get(pk=1).stopped
    assert not Pause.objects.exists()


def test_signals_fire_once_on_commit(run_on_commit):
    seen = []

    def receiver(sender, event, **kwargs):
        seen.append((event.kind, sender.pk))

    signals.task_failed.connect(receiver)
    try:
        task, _ = services.task_schedule(type="check")
        Task.objects.filter(pk=task.pk).update(status="running", attempt=1)
        task.refresh_from_db()
        run_on_commit(fail_attempt, task, "nope", permanent=True, attempt=1)
    finally:
        signals.task_failed.disconnect(receiver)
    assert seen == [("task.failed", task.pk)]
