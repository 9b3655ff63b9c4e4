"""The scheduler's REST API at the PRD's paths, in the shapes old clients expect."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler.models import Task

pytestmark = pytest.mark.django_db

TASK_KEYS = {
    "id",
    "type",
    "name",
    "platform",
    "priority",
    "scheduledFor",
    "dependencies",
    "resourceRequirements",
    "status",
    "retryCount",
    "maxRetries",
    "payload",
    "createdAt",
    "startedAt",
    "completedAt",
    "error",
    "result",
    "waitReason",
    "account",
    "safariHost",
    "idempotencyKey",
}


def test_health_is_the_one_anonymous_route(anon):
    answer = anon.get("/health")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["service"] == "scheduler"
    assert "timestamp" in body


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/scheduler/status"),
        ("get", "/api/scheduler/queue"),
        ("get", "/api/scheduler/completed"),
        ("post", "/api/scheduler/task"),
        ("delete", "/api/scheduler/task/1"),
        ("patch", "/api/scheduler/task/1"),
        ("post", "/api/scheduler/task/1/retry"),
        ("post", "/api/scheduler/pause"),
        ("post", "/api/scheduler/resume"),
        ("post", "/api/scheduler/start"),
        ("post", "/api/scheduler/stop"),
        ("get", "/api/schema/"),
    ],
)
def test_anonymous_requests_are_refused(anon, method, path):
    answer = getattr(anon, method)(path)
    assert answer.status_code in (401, 403)
    if answer["Content-Type"].startswith("application/json"):
        assert answer.json()["success"] is False


def test_session_login_works_too(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/api/scheduler/status").status_code == 200


def test_create_a_task_answers_201_with_the_prd_shape(api):
    answer = api.post(
        "/api/scheduler/task",
        {
            "type": "check",
            "name": "hello",
            "priority": 2,
            "payload": {"seconds": 0},
            "resourceRequirements": {"safariExclusive": True},
        },
        format="json",
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["success"] is True
    assert body["taskId"] == body["task"]["id"]
    assert isinstance(body["taskId"], str)
    assert set(body["task"]) >= TASK_KEYS
    assert body["task"]["resourceRequirements"] == {
        "soraCredits": 0,
        "platform": None,
        "safariExclusive": True,
    }


def test_a_repeated_idempotency_key_answers_200_with_the_first_task(api):
    first = api.post(
        "/api/scheduler/task", {"type": "check", "idempotencyKey": "abc"}, format="json"
    )
    again = api.post(
        "/api/scheduler/task", {"type": "check"}, format="json", HTTP_IDEMPOTENCY_KEY="abc"
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["taskId"] == first.json()["taskId"]
    assert Task.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "teleport"}, "type"),
        ({"type": "check", "priority": 7}, "priority"),
        ({"type": "check", "scheduledFor": "next tuesday"}, "scheduledFor"),
        ({"type": "check", "dependencies": ["x"]}, "dependencies"),
        ({"type": "check", "dependencies": ["99999"]}, "dependencies"),
        ({"type": "check", "payload": "not an object"}, "payload"),
        ({}, "type"),
    ],
)
def test_bad_input_gets_400_naming_the_field(api, body, field):
    answer = api.post("/api/scheduler/task", body, format="json")
    assert answer.status_code == 400
    assert answer.json()["success"] is False
    assert field in answer.json()["error"]


def test_queue_running_and_completed(api):
    api.post("/api/scheduler/task", {"type": "check", "name": "queued"}, format="json")
    done = Task.objects.create(
        type="check", name="done", lane="x", status="completed", finished_at=timezone.now()
    )
    Task.objects.create(type="check", name="running", lane="x", status="running")
    queue = api.get("/api/scheduler/queue").json()
    assert [t["name"] for t in queue["queue"]] == ["queued"]
    assert [t["name"] for t in queue["running"]] == ["running"]
    assert queue["total"] == 1
    assert queue["queue"][0]["display"]["state"] == "WAITING"
    completed = api.get("/api/scheduler/completed?limit=5").json()["completed"]
    assert [t["id"] for t in completed] == [str(done.pk)]
    assert api.get("/api/scheduler/completed?limit=abc").status_code == 400


def test_completed_lists_every_finished_task_newest_first_and_filters_by_status(api):
    now = timezone.now()
    made = {}
    for minutes, status in ((3, "completed"), (2, "failed"), (1, "cancelled")):
        made[status] = Task.objects.create(
            type="check",
            name=status,
            lane="x",
            status=status,
            error="boom" if status == "failed" else "",
            finished_at=now - timedelta(minutes=minutes),
        )
    Task.objects.create(type="check", name="queued", lane="x", status="pending")
    rows = api.get("/api/scheduler/completed").json()["completed"]
    assert [t["status"] for t in rows] == ["cancelled", "failed", "completed"]
    assert rows[1]["error"] == "boom"
    failed = api.get("/api/scheduler/completed?status=failed").json()["completed"]
    assert [t["id"] for t in failed] == [str(made["failed"].pk)]
    both = api.get("/api/scheduler/completed?status=failed,cancelled").json()["completed"]
    assert {t["status"] for t in both} == {"failed", "cancelled"}
    wrong = api.get("/api/scheduler/completed?status=pending")
    assert wrong.status_code == 400
    assert "status" in wrong.json()["error"]


def test_status_counts(api):
    api.post("/api/scheduler/task", {"type": "check"}, format="json")
    status = api.get("/api/scheduler/status").json()
    assert status["tasksInQueue"] == 1
    assert status["isRunning"] is False
    assert status["isPaused"] is False
    assert {
        "soraCredits",
        "platforms",
        "startedAt",
        "tasksRunning",
        "tasksCompleted",
        "tasksFailed",
    } <= set(status)


def test_cancel_reschedule_retry_and_unknown_ids(api):
    task_id = api.post("/api/scheduler/task", {"type": "check"}, format="json").json()["taskId"]
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    moved = api.patch(f"/api/scheduler/task/{task_id}", {"scheduledFor": later}, format="json")
    assert moved.status_code == 200
    assert moved.json()["task"]["display"]["state"] == "SCHEDULED"
    assert api.patch(f"/api/scheduler/task/{task_id}", {}, format="json").status_code == 400
    cancelled = api.delete(f"/api/scheduler/task/{task_id}")
    assert cancelled.json() == {"success": True, "task": cancelled.json()["task"]}
    assert cancelled.json()["task"]["status"] == "cancelled"
    assert api.delete(f"/api/scheduler/task/{task_id}").status_code == 409
    retried = api.post(f"/api/scheduler/task/{task_id}/retry")
    assert retried.json()["task"]["status"] == "pending"
    for method, path in [
        ("get", "/api/scheduler/task/777"),
        ("delete", "/api/scheduler/task/777"),
        ("patch", "/api/scheduler/task/777"),
        ("post", "/api/scheduler/task/777/retry"),
        ("post", "/api/scheduler/task/nope/decide"),
    ]:
        answer = getattr(api, method)(path, {"decision": "done"}, format="json")
        assert answer.status_code == 404, (method, path)
        assert "not found" in answer.json()["error"]


def test_decide_a_blocked_task(api):
    task = Task.objects.create(type="check", name="b", lane="x", status="blocked")
    bad = api.post(f"/api/scheduler/task/{task.pk}/decide", {"decision": "?"}, format="json")
    assert bad.status_code == 400
    done = api.post(f"/api/scheduler/task/{task.pk}/decide", {"decision": "done"}, format="json")
    assert done.json()["task"]["status"] == "completed"


def test_pause_resume_stop_start(api):
    assert api.post("/api/scheduler/pause", {"reason": "lunch"}, format="json").status_code == 200
    assert api.get("/api/scheduler/status").json()["isPaused"] is True
    api.post("/api/scheduler/resume", {}, format="json")
    assert api.get("/api/scheduler/status").json()["isPaused"] is False
    api.post("/api/scheduler/pause", {"platform": "twitter"}, format="json")
    assert api.get("/api/scheduler/status").json()["isPaused"] is False
    assert api.post("/api/scheduler/pause", {"account": "x"}, format="json").status_code == 400
    stop = api.post("/api/scheduler/stop")
    assert stop.json()["success"] is True
    status = api.get("/api/scheduler/status").json()
    assert status["isStopped"] is True
    api.post("/api/scheduler/start")
    assert api.get("/api/scheduler/status").json()["isStopped"] is False


def test_the_openapi_schema_and_docs_are_served(api, client, staff_user):
    schema = api.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/scheduler/task" in paths
    assert "/api/scheduler/task/{task_id}" in paths
    client.force_login(staff_user)
    assert client.get("/api/docs/").status_code == 200
