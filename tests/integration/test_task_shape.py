"""The task's JSON, written by hand in `TaskSerializer.to_representation` for speed, is what
DRF renders from the serializer's declared fields (plus the serializer's documented fix-ups:
empty texts as null, the client's idempotency key, unstorable text scrubbed), for tasks of
every kind of state; and the queue read costs the same few queries however long the queue."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import serializers

from scheduler import idempotency, taskinput
from scheduler.api.serializers import TaskSerializer, with_dependency_ids
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def drf_rendering(task):
    """DRF's generic field-by-field rendering, and the fix-ups the serializer documents."""
    data = serializers.Serializer.to_representation(TaskSerializer(), task)
    data["platform"] = task.platform or None
    data["error"] = task.error or None
    data["waitReason"] = task.wait_reason or None
    data["idempotencyKey"] = idempotency.public_key(task.idempotency_key)
    for key in ("name", "payload", "result", "error", "waitReason"):
        data[key] = taskinput.scrub(data[key])
    return data


def varied_tasks():
    now = timezone.now()
    first = TaskFactory(name="plain", payload={"seconds": 0})
    return [
        first,
        TaskFactory(
            type="dm",
            platform="instagram",
            account="acct",
            priority=1,
            status="blocked",
            wait_reason="send outcome unknown",
            payload={"text": "hi", "n": [1, "x"]},
            idempotency_key=idempotency.client_key(owner="user:1", key="k-1"),
            scheduled_for=now + timedelta(minutes=5),
        ),
        TaskFactory(
            status="running",
            started_at=now,
            cancel_requested="cancel",
            attempt=2,
            req_safari_exclusive=True,
            req_sora_credits=3,
            req_platform="tiktok",
            idempotency_key="internal:probe:1",
        ),
        TaskFactory(
            status="failed",
            started_at=now,
            finished_at=now + timedelta(seconds=3),
            error="boom",
            result={"ok": False},
            retry_count=2,
            cancel_requested="requeue",
        ),
        TaskFactory(status="pending", scheduled_for=now - timedelta(seconds=1)),
    ], first


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_the_hand_written_task_json_is_what_drf_renders(settings, zone):
    settings.TIME_ZONE = zone
    tasks, first = varied_tasks()
    tasks[1].dependencies.add(first)
    tasks[2].dependencies.add(first, tasks[1])
    tasks[4].name = "n\ud800"  # text stored before the checks: rendered, scrubbed
    tasks[1].payload = {"text": "hi\x00", "n": [1, "\ud800"]}
    for task in tasks:
        assert TaskSerializer(task).data == drf_rendering(task)
    for task in with_dependency_ids(tasks):  # the queue's batched dependency ids
        assert TaskSerializer(task).data == drf_rendering(task)
    assert TaskSerializer(tasks[2]).data["dependencies"] == [str(tasks[1].pk), str(first.pk)]


def test_a_queue_read_costs_the_same_queries_for_two_tasks_or_sixty(operator_api):
    def queries_of_one_read():
        with CaptureQueriesContext(connection) as captured:
            answer = operator_api.get("/api/scheduler/queue")
        assert answer.status_code == 200
        return len(captured.captured_queries), answer.json()

    tasks = [TaskFactory(), TaskFactory(status="running", started_at=timezone.now())]
    tasks[0].dependencies.add(tasks[1])
    few, body = queries_of_one_read()
    assert body["queue"][0]["dependencies"] == [str(tasks[1].pk)]
    for n in range(58):
        TaskFactory(status="running" if n % 5 == 0 else "pending", started_at=timezone.now())
    many, body = queries_of_one_read()
    assert (len(body["queue"]), len(body["running"])) == (47, 13)
    assert many == few


@pytest.mark.parametrize(
    ("query", "page", "total"),
    [({}, 5, 5), ({"limit": 2}, 2, 5), ({"offset": 3}, 2, 5), ({"offset": 5}, 0, 5),
     ({"limit": 0}, 0, 5), ({"offset": 9, "limit": 2}, 0, 5), ({"limit": 5}, 5, 5)],
)  # fmt: skip
def test_the_queue_total_counts_the_whole_queue_whatever_the_page(operator_api, query, page, total):
    for _ in range(5):
        TaskFactory()
    body = operator_api.get("/api/scheduler/queue", query).json()
    assert (len(body["queue"]), body["total"]) == (page, total)


def test_the_dependency_order_is_the_models_order():
    from scheduler.api.serializers import TASK_ORDER
    from scheduler.models import Task

    assert tuple(Task._meta.ordering) == TASK_ORDER
