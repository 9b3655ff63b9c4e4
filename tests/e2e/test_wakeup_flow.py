"""On Postgres the dispatcher process wakes on a notification: with every poll and sleep set to
30 s, each new task is claimed within moments of its commit."""

import re

import pytest

from tests.e2e.harness import System

pytestmark = [pytest.mark.e2e, pytest.mark.scale]

SLOW = "30"
CREATE_AND_TIME = """
import time
from scheduler import services
from scheduler.models import Task
delays = []
for n in range(3):
    time.sleep(1.0)
    task, _ = services.task_schedule(type="check", name=f"wake {n}")
    deadline = time.monotonic() + 10
    row = Task.objects.get(pk=task.pk)
    while row.claimed_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
        row = Task.objects.get(pk=task.pk)
    delays.append((row.claimed_at - row.created_at).total_seconds() if row.claimed_at else 99)
print("DELAYS", " ".join(f"{d:.3f}" for d in delays))
"""


@pytest.fixture
def slow_polling_system(tmp_path):
    running = System(
        tmp_path,
        profile="scale",
        SCHEDULER_POLL_SECONDS=SLOW,
        SCHEDULER_NOTIFY_POLL_SECONDS=SLOW,
        SCHEDULER_MAX_SLEEP_SECONDS=SLOW,
        SCHEDULER_LEADER_LEASE_SECONDS="120",  # it renews every 40 s: no wake-up from that
        # No workers run here: the leader's probes stay claimed, and with workers counted they
        # would fill a 2-worker host's share of ordinary work. Wake-ups are what is measured.
        SCHEDULER_RESERVED_WORKERS="0",
    )
    try:
        yield running
    finally:
        running.stop()


def test_each_new_task_is_claimed_at_once_though_the_dispatcher_polls_every_30_s(
    slow_polling_system,
):
    system = slow_polling_system.setup()
    system.start_dispatcher()
    system.wait_for(
        lambda: "leader:" in system.log("dispatcher"),
        30,
        "the dispatcher to lead",
    )
    out = system.shell(CREATE_AND_TIME, timeout=120)
    match = re.search(r"DELAYS ([\d. ]+)", out)
    assert match, out
    delays = [float(d) for d in match.group(1).split()]
    assert all(d < 2.0 for d in delays), delays  # a poll would take up to 30 s each
