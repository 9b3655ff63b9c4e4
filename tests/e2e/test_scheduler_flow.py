"""The running system: daphne + qcluster + the dispatcher as real processes."""

import os
import signal
import sys

import pytest

from tests.e2e.harness import System

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture(params=["sqlite", "scale"])
def profile_system(request, tmp_path):
    running = System(tmp_path, profile=request.param)
    try:
        yield running
    finally:
        running.stop()


def test_a_task_scheduled_through_the_api_completes(profile_system):
    system = profile_system.start_all()
    answer = system.api(
        "POST",
        "/api/scheduler/task",
        json={"type": "check", "name": "e2e hello", "payload": {"seconds": 0.2}},
    )
    assert answer.status_code == 201, answer.text
    task_id = answer.json()["taskId"]
    done = system.wait_status(task_id, {"completed", "failed"})
    assert done["status"] == "completed"
    assert done["result"]["ok"] is True
    status = system.api("GET", "/api/scheduler/status").json()
    assert status["isRunning"] is True
    assert status["tasksCompleted"] >= 1


def test_a_task_whose_worker_is_killed_is_recovered_not_stuck(system):
    system.start_all()
    answer = system.api(
        "POST",
        "/api/scheduler/task",
        json={"type": "check", "name": "long", "payload": {"seconds": 3}, "maxRetries": 2},
    )
    task_id = answer.json()["taskId"]
    running = system.wait_for(
        lambda: (
            (t := system.task(task_id))["status"] == "running"
            and (t.get("result") or {}).get("pid")
            and t
        ),
        90,  # a cold qcluster on a busy machine can take a while to start its workers
        "the task to run on a worker",
    )
    os.kill(running["result"]["pid"], signal.SIGKILL)
    done = system.wait_status(task_id, {"completed", "failed"}, timeout=60)
    assert done["status"] == "completed"
    assert done["retryCount"] == 1
    assert done["attempt"] == 2
    events = system.manage(
        "shell",
        "-c",
        (
            "from scheduler.models import Event;"
            f"print([e.message for e in Event.objects.filter(task_id={task_id}, "
            "kind='task.retry_scheduled')])"
        ),
    )
    assert "worker lost: no heartbeat" in events


def test_a_standby_dispatcher_takes_over_when_the_leader_dies(system):
    system.setup()
    system.start_web()
    system.start_workers()
    leader = system.start_dispatcher("first")
    system.wait_for(lambda: "leader: first" in system.log("first"), 20, "first to lead")
    system.start_dispatcher("second")
    os.killpg(leader.pid, signal.SIGKILL)
    answer = system.api("POST", "/api/scheduler/task", json={"type": "check"})
    done = system.wait_status(answer.json()["taskId"], {"completed"}, timeout=30)
    assert done["status"] == "completed"
    assert "leader: second" in system.log("second")


def test_scheduler_start_after_a_stop_runs_queued_work_again(system):
    """`scheduler stop`, then `scheduler start`: the new dispatcher lifts the stop and works."""
    system.setup()
    system.start_web()
    system.start_workers()
    system.manage("scheduler", "stop")
    answer = system.api("POST", "/api/scheduler/task", json={"type": "check", "name": "after"})
    task_id = answer.json()["taskId"]
    system.start_dispatcher()
    done = system.wait_status(task_id, {"completed", "failed"})
    assert done["status"] == "completed"
    status = system.manage("scheduler", "status")
    assert "Scheduler: running" in status
    assert "Stopped" not in status


def test_start_with_keep_paused_leaves_a_stop_in_place(system):
    system.setup()
    system.manage("scheduler", "stop")
    system.spawn("keeper", sys.executable, "manage.py", "scheduler", "start", "--keep-paused")
    system.wait_for(lambda: "waits for" in system.log("keeper"), 20, "the keep-paused notice")
    assert "Stopped" in system.manage("scheduler", "status")
