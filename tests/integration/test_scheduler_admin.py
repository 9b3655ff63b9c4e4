"""Admin: every model listed; actions call the same services as the API."""

import pytest

from scheduler.models import Event, Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/scheduler/task/",
        "/admin/scheduler/event/",
        "/admin/scheduler/pause/",
        "/admin/scheduler/schedulerstate/",
        "/admin/scheduler/lane/",
        "/admin/scheduler/task/?status=pending&q=hello",
    ],
)
def test_admin_pages_render(admin_client, path):
    Task.objects.create(type="check", name="hello", lane="x")
    Event.objects.create(kind="task.created", message="hello")
    assert admin_client.get(path).status_code == 200


def test_cancel_and_retry_actions_call_the_services(admin_client):
    task = Task.objects.create(type="check", name="a", lane="x")
    done = Task.objects.create(type="check", name="b", lane="x", status="completed")
    answer = admin_client.post(
        "/admin/scheduler/task/",
        {"action": "cancel_tasks", "_selected_action": [task.pk, done.pk]},
        follow=True,
    )
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert Event.objects.filter(task=task, kind="task.cancelled").exists()
    page = answer.content.decode()
    assert "Cancelled 1 task(s)" in page
    assert "already completed" in page
    admin_client.post(
        "/admin/scheduler/task/", {"action": "retry_tasks", "_selected_action": [task.pk]}
    )
    task.refresh_from_db()
    assert task.status == "pending"


def test_decide_actions(admin_client):
    blocked = Task.objects.create(type="check", name="a", lane="x", status="blocked")
    other = Task.objects.create(type="check", name="b", lane="x", status="blocked")
    admin_client.post(
        "/admin/scheduler/task/", {"action": "decide_done", "_selected_action": [blocked.pk]}
    )
    admin_client.post(
        "/admin/scheduler/task/", {"action": "decide_retry", "_selected_action": [other.pk]}
    )
    assert Task.objects.get(pk=blocked.pk).status == "completed"
    assert Task.objects.get(pk=other.pk).status == "pending"


def test_events_are_read_only(admin_client):
    event = Event.objects.create(kind="task.created")
    assert admin_client.get("/admin/scheduler/event/add/").status_code == 403
    assert admin_client.post(f"/admin/scheduler/event/{event.pk}/change/", {}).status_code == 403
