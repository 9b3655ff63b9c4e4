"""`manage.py scheduler …` through call_command."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

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


def test_resources_lists_hosts():
    assert "Safari hosts: local" in run("resources")
