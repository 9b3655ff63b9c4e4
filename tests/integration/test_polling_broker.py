"""The embedded profile's django-q2 broker: cheap idle polls, batch locks, one-DELETE acks."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_q.models import OrmQ

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        bool(settings.REDIS_URL), reason="the scale profile uses django-q2's Redis broker"
    ),
]


def test_it_locks_a_batch_in_order_and_acknowledges_with_one_delete() -> None:
    from scheduler.broker import PollingORM

    broker = PollingORM(list_key="bench-broker")
    assert broker.dequeue() is None  # nothing ready: one cheap query, then the poll sleep
    ids = [broker.enqueue(f"package {i}") for i in range(6)]
    first = broker.dequeue()
    assert first is not None
    assert [pk for pk, _ in first] == ids[:4]  # bulk is 4, oldest first
    assert [payload for _, payload in first] == [f"package {i}" for i in range(4)]
    second = broker.dequeue()
    assert second is not None
    assert [pk for pk, _ in second] == ids[4:]
    assert broker.dequeue() is None  # all locked now
    for pk in ids:
        broker.acknowledge(pk)
    assert not OrmQ.objects.filter(key="bench-broker").exists()


def _claimed_task() -> tuple[int, int]:
    from scheduler import services
    from scheduler.dispatcher import Dispatcher

    task, _ = services.task_schedule(type="check", name="delivered")
    Dispatcher(name="test", enqueue_fn=lambda *args: None).cycle()
    task.refresh_from_db()
    assert task.status == "scheduled"
    return task.pk, task.attempt


def test_a_runner_acknowledges_its_package_in_the_start_transaction() -> None:
    from scheduler import runner
    from scheduler.broker import Delivery, PollingORM

    task_id, attempt = _claimed_task()
    ack_id = PollingORM(list_key=settings.Q_CLUSTER["name"]).enqueue("package")
    package = {"args": (task_id, attempt), "kwargs": {}, "ack_id": ack_id}
    Delivery.remember(sender="django_q", task=package)
    assert runner.run(task_id, attempt) == "completed"
    assert not OrmQ.objects.filter(pk=ack_id).exists()  # gone with the start
    assert "ack_id" not in package  # so the monitor does not acknowledge it again


def test_a_package_that_does_not_match_is_left_to_the_monitor() -> None:
    from scheduler import runner
    from scheduler.broker import Delivery, PollingORM

    task_id, attempt = _claimed_task()
    broker = PollingORM(list_key=settings.Q_CLUSTER["name"])
    stale = {"args": (task_id, attempt + 1), "kwargs": {}, "ack_id": broker.enqueue("stale")}
    Delivery.remember(sender="django_q", task=stale)
    assert runner.run(task_id, attempt) == "completed"
    assert OrmQ.objects.filter(pk=stale["ack_id"]).exists()
    assert "ack_id" in stale
    # Delivered again after it ran: not ours to run, so nothing is taken.
    again = {"args": (task_id, attempt), "kwargs": {}, "ack_id": broker.enqueue("again")}
    Delivery.remember(sender="django_q", task=again)
    assert runner.run(task_id, attempt) == ""
    assert OrmQ.objects.filter(pk=again["ack_id"]).exists()
    assert "ack_id" in again
