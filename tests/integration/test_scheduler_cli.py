"""`manage.py scheduler …` through call_command."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from scheduler.models import Pause, Task

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("scheduler", *args, stdout=out)
    return out.getvalue()


def test_schedule_then_queue_shows_it_in_a_table():
    out = run(
        "schedule",
        "--type",
        "check",
        "--name",
        "from cli",
        "--priority",
        "2",
        "--at",
        "+10m",
        "--payload",
        '{"seconds": 1}',
    )
    assert "Scheduled: task" in out
    task = Task.objects.get()
    assert (task.priority, task.payload) == (2, {"seconds": 1})
    table = run("queue")
    assert "SCHEDULED" in table
    assert "from cli" in table
    assert run("schedule", "--type", "check", "--key", "k1").startswith("Scheduled")
    assert run("schedule", "--type", "check", "--key", "k1").startswith("Already scheduled")


def test_an_empty_queue_says_so():
    assert run("queue") == "The queue is empty.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["schedule", "--type", "nope"], "unknown task type"),
        (["schedule", "--type", "check", "--at", "someday"], "cannot read"),
        (["schedule", "--type", "check", "--payload", "{bad"], "not JSON"),
        (["schedule", "--type", "check", "--payload", "[1]"], "JSON object"),
        (["schedule", "--type", "check", "--depends", "a,b"], "task ids"),
        (["cancel", "999"], "not found"),
        (["retry", "999"], "not found"),
        (["reschedule", "999", "10:00"], "not found"),
        (["decide", "999", "done"], "not found"),
    ],
)
def test_mistakes_are_clear_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_cancel_retry_reschedule_and_decide():
    run("schedule", "--type", "check")
    task = Task.objects.get()
    assert "16:45" in run("reschedule", str(task.pk), "16:45")
    assert "cancelled" in run("cancel", str(task.pk))
    with pytest.raises(CommandError, match="already cancelled"):
        run("cancel", str(task.pk))
    assert "queued again" in run("retry", str(task.pk))
    Task.objects.filter(pk=task.pk).update(status="blocked")
    assert "completed" in run("decide", str(task.pk), "done", "--note", "checked")


def test_pause_resume_stop_and_status():
    assert "Paused" in run("pause", "--reason", "lunch")
    assert "Paused: scheduler" in run("status")
    run("pause", "--platform", "twitter")
    assert "1 pause(s) lifted" in run("resume", "--platform", "twitter")
    run("resume")
    assert not Pause.objects.exists()
    assert "Stopped" in run("stop")
    status = run("status")
    assert "not running" in status
    assert "Stopped" in status
    assert "check" in status  # the task types are listed


def test_resources_is_a_table_of_hosts_sora_and_platforms_and_json_for_scripts():
    table = run("resources")
    assert "Safari hosts" in table
    assert "local" in table
    assert "Sora credits" in table
    assert "Platforms" in table
    for platform in ("tiktok", "instagram", "twitter"):
        assert platform in table
    document = json.loads(run("resources", "--json"))
    assert document["safariHosts"] == ["local"]
    assert {p["platform"] for p in document["platforms"]} >= {"tiktok", "instagram", "twitter"}


def _finished(name, status, minutes_ago, error=""):
    return Task.objects.create(
        type="check",
        name=name,
        lane="x",
        status=status,
        error=error,
        finished_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_history_lists_finished_tasks_newest_first_with_a_status_filter():
    _finished("old ok", "completed", 3)
    failed = _finished("broke", "failed", 2, error="boom")
    _finished("gave up", "cancelled", 1)
    table = run("history")
    assert table.index("gave up") < table.index("broke") < table.index("old ok")
    rows = json.loads(run("history", "--status", "failed", "--json"))["completed"]
    assert [(r["id"], r["status"], r["error"]) for r in rows] == [
        (str(failed.pk), "failed", "boom")
    ]
    with pytest.raises(CommandError, match="status"):
        run("history", "--status", "running")
    with pytest.raises(CommandError, match="--limit"):
        run("history", "--limit", "0")


def test_show_prints_the_task_its_attempts_and_events():
    run("schedule", "--type", "check", "--name", "shown")
    task = Task.objects.get()
    text = run("show", str(task.pk))
    assert "Task " + str(task.pk) in text
    assert "task.created" in text
    assert "Attempts" in text
    document = json.loads(run("show", str(task.pk), "--json"))
    assert document["task"]["name"] == "shown"
    assert document["events"][0]["kind"] == "task.created"
    assert document["attempts"] == []
    with pytest.raises(CommandError, match="No task"):
        run("show", "999999")


def test_status_and_queue_print_json_for_scripts():
    run("schedule", "--type", "check", "--name", "queued")
    status = json.loads(run("status", "--json"))
    assert status["tasksInQueue"] == 1
    queue = json.loads(run("queue", "--json"))["queue"]
    assert [t["name"] for t in queue] == ["queued"]
