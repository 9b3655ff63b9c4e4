"""The real dispatcher keeps workers for Safari work and urgent tasks, and every task type
has a timeout that ends an attempt running past it."""

import time

import pytest
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.exceptions import TimeoutException
from django_q.timeout import TimeoutHandler

from dm import registration as dm_registration
from scheduler import handlers, registry, services
from scheduler.dispatcher import Dispatcher
from scheduler.handlers import check
from scheduler.inflight import in_flight
from scheduler.models import Event, Task
from scheduler.packages import cluster_for
from scheduler.planning import MAIN_POOL, ORDINARY_POOL
from scheduler.registry import TaskType
from scheduler.runner import run
from sora import registration as sora_registration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_kept_three_slots(settings):
    settings.SCHEDULER = {
        **settings.SCHEDULER,
        "RESERVED_WORKERS": 2,
        "MAX_INFLIGHT": 3,
        "HEARTBEAT_SECONDS": 0.05,
    }


def claiming_dispatcher(claimed):
    return Dispatcher(name="d1", enqueue_fn=lambda *args: claimed.append(args[0]))


def test_ordinary_work_fills_only_its_own_pool_and_urgent_safari_work_still_starts(
    run_on_commit, settings
):
    claimed: list[int] = []
    dispatcher = claiming_dispatcher(claimed)
    checks = [
        services.task_schedule(type="check", name=f"long {i}", payload={"seconds": 60})[0]
        for i in range(4)
    ]
    run_on_commit(dispatcher.cycle)
    assert claimed == [task.pk for task in checks[:3]]
    assert Task.objects.get(pk=checks[3].pk).status == "pending"  # three slots, all taken
    urgent, _ = services.task_schedule(
        type="check", name="urgent", priority=1, requirements={"safariExclusive": True}
    )
    also_urgent, _ = services.task_schedule(type="check", name="urgent, no Safari", priority=2)
    # Saturated with ordinary work, the dispatcher plans again after a few cycle gaps at most.
    time.sleep(5 * settings.SCHEDULER["CYCLE_GAP_SECONDS"])
    run_on_commit(dispatcher.cycle)
    assert claimed[3:] == [urgent.pk, also_urgent.pk]
    assert Task.objects.get(pk=checks[3].pk).status == "pending"


def test_each_package_goes_to_the_cluster_of_its_pool(run_on_commit, monkeypatch):
    """Ordinary work to the host's ordinary cluster, Safari and urgent work to its main one
    (the workers kept for them): the packages as django-q2's brokers hold them."""
    monkeypatch.setattr(Conf, "SYNC", False)  # the tests' django-q2 runs packages inline
    clusters = {pool: cluster_for("local", pool) for pool in (MAIN_POOL, ORDINARY_POOL)}
    brokers = {pool: get_broker(name) for pool, name in clusters.items()}
    for broker in brokers.values():
        broker.purge_queue()
    services.task_schedule(type="check", name="ordinary")
    services.task_schedule(type="check", name="urgent", priority=1)
    services.task_schedule(type="check", name="Safari", requirements={"safariExclusive": True})
    try:
        run_on_commit(Dispatcher(name="d1").cycle)
        assert {pool: broker.queue_size() for pool, broker in brokers.items()} == {
            MAIN_POOL: 2,
            ORDINARY_POOL: 1,
        }
    finally:
        for broker in brokers.values():
            broker.purge_queue()


def test_in_flight_counts_each_hosts_work_by_pool_in_one_query(settings, django_assert_num_queries):
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
        inflight = in_flight(2)
    assert inflight.reserved_busy == {"studio": 2}
    assert inflight.queued_busy == {"studio": 1, "laptop": 1}
    assert inflight.safari_held == {"studio"}
    # One reserved worker is Safari's alone: urgent work without Safari queues as ordinary.
    assert in_flight(1).reserved_busy == {"studio": 1}
    assert in_flight(0).reserved_busy == {}
    assert in_flight(0).queued == 4


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
