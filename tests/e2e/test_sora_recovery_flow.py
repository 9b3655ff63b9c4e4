"""Sora recovers, with real processes (issue 15, item 5).

daphne + qcluster + the dispatcher + `manage.py simulate --only sora`:

1. A trilogy's first part fails its generation and backs off; meanwhile a priority-1 trilogy is
   queued that the remaining credits cannot cover. The retry runs on its own trilogy's
   reservation (not behind the other trilogy, waiting for the credits it holds itself), and
   the trilogy completes while the other one waits.
2. After a refresh the second trilogy runs; the service restarts while its first part
   generates and forgets the command. The part blocks for a decision; `resubmit` (once: a
   second one is refused) submits it again, and the trilogy goes on. The simulator counts
   every post: nothing is made twice.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests.e2e.harness import System, free_offset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

GENERATION_SECONDS = 2.0


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def _sim(sora_url: str, **faults: Any) -> dict[str, Any]:
    answer = requests.post(f"{sora_url}/_sim/faults", json=faults, timeout=5)
    answer.raise_for_status()
    return dict(answer.json())


def _posts(sora_url: str) -> int:
    return int(requests.get(f"{sora_url}/_sim/state", timeout=5).json()["posts"])


def _read_credits(system: System, remaining: int) -> None:
    assert "credit check queued" in system.manage("sora", "check")
    system.wait_for(
        lambda: (
            system.api("GET", "/api/sora/credits").json()["credits"]["remainingCredits"]
            == remaining
        ),
        60,
        f"the credit check to read {remaining}",
    )


def _queue(system: System, slug: str, priority: int = 2) -> list[str]:
    answer = system.api(
        "POST", "/api/sora/queue-trilogy", json={"trilogyId": slug, "priority": priority}
    )
    assert answer.status_code == 201, answer.text
    parts: list[str] = answer.json()["taskIds"]
    return parts


def _complete(system: System, parts: list[str]) -> None:
    for part in parts:
        done = system.wait_status(part, {"completed", "failed", "blocked"}, timeout=120)
        assert done["status"] == "completed", done


def test_a_retried_part_and_a_resubmitted_one_recover_each_made_once(tmp_path):
    offset = free_offset(["sora"])
    sora_url = f"http://127.0.0.1:{7070 + offset}"
    system = System(
        tmp_path,
        SORA_URL=sora_url,
        SIM_TIME_SCALE="1",  # generation time is set through the simulator's faults
        SORA_POLL_SECONDS="0.2",
        # A backoff long enough to queue the other trilogy while the retry waits.
        SCHEDULER_BACKOFF_BASE_SECONDS="8",
        SCHEDULER_BACKOFF_CAP_SECONDS="8",
    )
    try:
        system.start_all()
        system.spawn(
            "simulate", sys.executable, "manage.py", "simulate", "--port-offset", str(offset),
            "--only", "sora",
        )  # fmt: skip
        system.wait_for(lambda: _up(f"{sora_url}/_sim/state"), 30, "the Sora simulator")
        _sim(
            sora_url,
            profile="kind",
            set_credits={"free": 4, "paid": 0},
            generation_seconds=GENERATION_SECONDS,
            refreshes_at=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
            fail_next=1,
        )
        assert "3 trilogies" in system.manage("sora", "import", "sora/fixtures/trilogies.json")
        _read_credits(system, 4)

        # 1. The first part fails its generation (a credit spent: 3 left, just what the
        # trilogy holds) and backs off; a priority-1 trilogy arrives meanwhile.
        first = _queue(system, "first_contact")
        system.wait_for(
            lambda: (t := system.task(first[0]))["retryCount"] == 1 and t["status"] == "pending",
            60,
            "part 1 to fail and back off",
        )
        second = _queue(system, "volcanic_fury", priority=1)
        _complete(system, first)
        waiting = system.task(second[0])
        assert waiting["status"] == "pending", waiting
        assert (waiting["waitReason"] or "").startswith("needs 3 credits"), waiting
        assert _posts(sora_url) == 4  # the failed generation, then each part once

        # 2. Credits come back; the second trilogy's first part generates (long enough for
        # the service to restart under it), and the restarted service forgot its command.
        _sim(sora_url, force_refresh=True, generation_seconds=60)
        _read_credits(system, 5)
        system.wait_for(lambda: _posts(sora_url) == 5, 60, "part 1 of the second to submit")
        _sim(sora_url, forget_commands=True, generation_seconds=GENERATION_SECONDS)
        blocked = system.wait_status(second[0], {"blocked"}, timeout=60)
        assert "Sora no longer knows command" in blocked["waitReason"], blocked
        decided = system.api(
            "POST", f"/api/scheduler/task/{second[0]}/decide", json={"decision": "resubmit"}
        )
        assert decided.status_code == 200, decided.text
        again = system.api(
            "POST", f"/api/scheduler/task/{second[0]}/decide", json={"decision": "resubmit"}
        )
        assert again.status_code == 409, again.text
        _complete(system, second)
        sim = requests.get(f"{sora_url}/_sim/state", timeout=5).json()
        results = [system.task(part)["result"] for part in second]
    finally:
        system.stop()

    # The forgotten command, then the resubmitted part 1 and parts 2 and 3: each once.
    assert sim["posts"] == 8, sim
    assert sorted(c["id"] for c in sim["commands"]) == sorted(r["commandId"] for r in results)
    assert all(r["fileSize"] > 0 for r in results), results
