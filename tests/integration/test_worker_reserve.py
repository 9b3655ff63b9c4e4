"""The real dispatcher keeps workers for Safari work and urgent tasks, and every task type
has a timeout that ends an attempt running past it."""

import time

import pytest
from django_q.exceptions import TimeoutException
from django_q.timeout import TimeoutHandler

from dm import registration as dm_registration
from scheduler import handlers, registry, services
from scheduler.dispatcher import Dispatcher, in_flight
from scheduler.handlers import check
from scheduler.models import Event, Task
from scheduler.planning import HostLoad
from scheduler.registry import TaskType
from scheduler.runner import run
from sora import registration as sora_registration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def four_workers_one_kept(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 4}
    settings.SCHEDULER = {**settings.SCHEDULER, "RESERVED_WORKERS": 1, "HEARTBEAT_SECONDS": 0.05}


def claiming_dispatcher(claimed):
    return Dispatcher(name="d1", enqueue_fn=lambda *args: claimed.append(args[0]))


def test_long_ordinary_tasks_leave_a_worker_for_an_urgent_safari_task(run_on_commit):
    claimed: list[int] = []
    dispatcher = claiming_dispatcher(claimed)
    checks = [
        services.task_schedule(type="check", name=f"long {i}", payload={"seconds": 60})[0]
        for i in range(4)
    ]
    run_on_commit(dispatcher.cycle)
    assert claimed == [task.pk for task in checks[:3]]
    fourth = Task.objects.get(pk=checks[3].pk)
    assert (fourth.status, fourth.wait_reason) == (
        "pending",
        "waiting: 3 of 4 workers on local busy (3 with ordinary work); "
        "1 kept for Safari and urgent tasks",
    )
    urgent, _ = services.task_schedule(
        type="check", name="urgent", priority=1, requirements={"safariExclusive": True}
    )
    run_on_commit(dispatcher.cycle)
    assert claimed[-1] == urgent.pk
    assert Task.objects.get(pk=checks[3].pk).status == "pending"


def test_in_flight_counts_each_hosts_work_by_class_in_one_query(
    settings, django_assert_num_queries
):
    settings.SAFARI_HOSTS = ["studio", "laptop"]
    for priority, safari, host in ((3, False, "studio"), (1, False, "studio"), (3, True, "studio")):
        services.task_schedule(
            type="check",
            priority=priority,
            requirements={"safariExclusive": safari},
            safari_host=host,
        )
    services.task_schedule(type="check", safari_host="laptop")
    Task.objects.update(status="running")
    Task.objects.filter(safari_host="studio", req_safari_exclusive=True).update(holds_safari=True)
    services.task_schedule(type="check", safari_host="laptop")  # pending: holds no worker
    with django_assert_num_queries(1):
        inflight = in_flight()
    assert inflight.loads == {"studio": HostLoad(busy=3, ordinary=1), "laptop": HostLoad(1, 1)}
    assert inflight.safari_held == {"studio"}


def test_every_registered_task_type_names_its_own_timeout(monkeypatch):
    # What the apps register at start-up, without the types other tests add.
    monkeypatch.setattr(registry, "_types", {})
    handlers.register_builtin_types()
    dm_registration.register()
    sora_registration.register()
    types = registry.task_types()
    assert {"check", "webhook", "cleanup", "dm", "comment", "probe"} <= set(types)
    missing = [name for name, spec in types.items() if not spec.timeout_seconds]
    assert missing == [], f"task types without a timeout: {missing}"


def test_an_operator_can_override_one_types_timeout(settings):
    settings.TASK_TIMEOUTS = {"check": 7}
    assert registry.timeout_for("check") == 7
    assert registry.timeout_for("webhook") == 60
    assert registry.timeout_for("no such type") == settings.SCHEDULER["DEFAULT_TIMEOUT_SECONDS"]


def test_a_task_over_its_timeout_is_ended_at_once_and_retried(run_on_commit):
    registry.register_task_type(TaskType("stuck", check, timeout_seconds=1))
    task, _ = services.task_schedule(type="stuck", payload={"seconds": 30}, max_retries=2)
    claimed: list[int] = []
    run_on_commit(claiming_dispatcher(claimed).cycle)
    assert claimed == [task.pk]
    started = time.monotonic()
    # As a django-q2 worker runs a package: an alarm at the package's timeout.
    with pytest.raises(TimeoutException), TimeoutHandler(registry.timeout_for("stuck")):
        run(task.pk, 1)
    assert time.monotonic() - started < 5
    task.refresh_from_db()
    assert (task.status, task.retry_count) == ("pending", 1)
    assert task.error == "timed out after 1s on attempt 1"
    assert Event.objects.filter(task=task, kind="task.retry_scheduled").exists()
