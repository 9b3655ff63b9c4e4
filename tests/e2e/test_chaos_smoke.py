"""CI's fast part of the reliability suites (`manage.py chaos`, `manage.py soak`): a few faults
twice each and a one-minute soak, with real processes, asserting what the full runs promise:
0 duplicate deliveries (counted at the simulators), 0 lost, 0 stuck, every round recovered.
"""

from __future__ import annotations

import pytest
import requests

from benchmarks.chaos import run_faults, table
from benchmarks.chaos.work import Item, Work, count
from benchmarks.soak import soak
from dm.simulator import SimServer, TwitterDMSim

pytestmark = [pytest.mark.e2e]

FAULTS = [
    "worker-dm-tiktok",
    "dispatcher-leader",
    "simulator-drop",
    "restart-all-trilogy",
    "idle-worker",
    "host-cluster",
]


@pytest.mark.timeout(1200)
def test_each_fault_twice_loses_and_doubles_nothing(tmp_path):
    reports = run_faults(FAULTS, times=2, tmp=tmp_path)
    print(table(reports))
    for report in reports:
        row = report.as_dict()
        assert row["runs"] == 2, row
        assert (row["duplicates"], row["lost"], row["stuck"], row["unrecovered"]) == (0, 0, 0, 0), (
            row
        )
        assert row["statuses"].get("completed") == row["tasks"], row


@pytest.mark.timeout(600)
def test_a_minute_of_mixed_work_loses_and_doubles_nothing(tmp_path):
    figures = soak(minutes=1, tmp=tmp_path, sample_seconds=2)
    assert figures["tasks"] >= 10, figures
    assert (figures["duplicates"], figures["lost"], figures["stuck"]) == (0, 0, 0), figures
    assert figures["reads"]["errors"] == 0, figures
    # Every process of the system was sampled all along (a worker django-q2 replaced
    # part-way has fewer samples; the group's main process has them all).
    sampled = {p.split(":")[0] for p, row in figures["processes"].items() if row["samples"] >= 5}
    assert sampled >= {"web", "workers", "dispatcher", "simulate"}, figures["processes"]


def test_the_counts_see_a_duplicate_and_a_loss_at_the_simulator():
    """The suites' counting can fail: a DM delivered twice is a duplicate, one never delivered
    is lost, a task left running is stuck."""
    server = SimServer(TwitterDMSim(profile="kind"), port=0).start()
    try:
        work = Work("dm", "twitter", server.url)
        for username in ("twice", "twice", "once"):
            sent = requests.post(
                f"{server.url}/api/twitter/messages/send-to",
                json={"username": username, "text": "hi"},
                timeout=5,
            )
            assert sent.ok, sent.text
        items = {"1": Item(work, "twice"), "2": Item(work, "once"), "3": Item(work, "never")}
        tasks = [
            {"id": "1", "status": "completed"},
            {"id": "2", "status": "completed"},
            {"id": "3", "status": "running"},
        ]
        tally = count(tasks, items, blocked=0)
    finally:
        server.stop()
    assert (tally.duplicates, tally.lost, tally.stuck) == (1, 1, 1), tally
