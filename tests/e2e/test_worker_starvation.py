"""Long ordinary work never starves Safari work, with real processes: daphne, `manage.py
workers` (a cluster of three workers for ordinary work, one kept for Safari work), the
dispatcher and the X DM simulator. Found by testing: four long `check` tasks from any user
held every worker and a priority-1 DM waited 42 s."""

from datetime import datetime

import pytest

from tests import dm_factories as s

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHECK_TIMEOUT = 15
# One dispatcher cycle plus a worker's pickup, with room for a busy 2-core machine.
BOUND_SECONDS = 5


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def send_dm(system, username: str, text: str) -> str:
    answer = system.api(
        "POST",
        "/api/dm/send",
        json={"platform": "twitter", "username": username, "text": text, "priority": 1},
        headers={"Idempotency-Key": f"starve-{username}"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["taskId"])


def test_long_checks_leave_a_worker_for_an_urgent_dm_and_end_at_their_timeout(tmp_path):
    system, _ = s.start_dm_system(
        tmp_path,
        "twitter",
        Q_WORKERS="3",
        SCHEDULER_RESERVED_WORKERS="1",
        SCHEDULER_TASK_TIMEOUTS=f"check={CHECK_TIMEOUT}",
    )
    try:
        warm = send_dm(system, "first_friend", "warming up")  # workers up, service healthy
        assert system.wait_status(warm, {"completed", "failed"}, 120)["status"] == "completed"

        checks = []
        for i in range(4):  # one more than ordinary work's workers
            answer = system.api(
                "POST",
                "/api/scheduler/task",
                json={
                    "type": "check",
                    "name": f"long {i}",
                    "payload": {"seconds": 60},
                    "maxRetries": 0,
                },
            )
            assert answer.status_code == 201, answer.text
            checks.append(str(answer.json()["taskId"]))

        def running():
            tasks = [system.task(task_id) for task_id in checks]
            return len([t for t in tasks if t["status"] == "running"]) >= 3 and tasks

        tasks = system.wait_for(running, 60, "the long checks to run")
        urgent = send_dm(system, "second_friend", "urgent, while the checks run")
        started = system.wait_for(
            lambda: (t := system.task(urgent))["startedAt"] and t, 90, "the urgent DM to start"
        )
        waited = (moment(started["startedAt"]) - moment(started["createdAt"])).total_seconds()
        assert waited <= BOUND_SECONDS, f"the priority-1 DM waited {waited:.1f}s for a worker"
        first = [t for t in tasks if t["status"] == "running"]
        waiting = next(t for t in tasks if t["status"] != "running")
        assert len(first) == 3
        assert waiting["status"] in ("pending", "scheduled")  # queued for ordinary work's workers
        done = system.wait_status(urgent, {"completed", "failed"}, 60)
        assert done["status"] == "completed", done

        # Each long check is ended at its timeout, and its worker taken by the one that waited.
        for task in first:
            ended = system.wait_status(task["id"], {"completed", "failed"}, CHECK_TIMEOUT + 30)
            assert ended["status"] == "failed", ended
            assert ended["error"] == f"timed out after {CHECK_TIMEOUT}s on attempt 1"
            ran = (moment(ended["completedAt"]) - moment(ended["startedAt"])).total_seconds()
            assert ran < CHECK_TIMEOUT + 5, ended
        system.wait_status(waiting["id"], {"running", "failed"}, 60)
    finally:
        system.stop()
