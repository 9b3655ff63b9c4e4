"""Comments on Instagram and Threads with real processes, against the simulators' `real`
profile (slow posts, a 504 at 30 s while the post goes on, Instagram down after its 504), while
the worker is SIGKILLed mid-post: no comment is posted twice, none is lost, and every unknown
outcome waits for a human (a comment has no trustworthy read-back)."""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from typing import Any

import pytest
import requests

from benchmarks.chaos.runner import kill_worker_mid_call, tab_busy
from tests.e2e.harness import System, free_offset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLATFORMS = {"threads": 3004, "instagram": 3005}
SCALE = 4  # a post takes 1.25-3 s, the 504 comes at 7.5 s and that post lands at 9 s
TASKS = 8
KILLS = 3


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=1).ok
    except requests.RequestException:
        return False


def _sent(url: str) -> list[dict[str, Any]]:
    """What the simulator posted; it may be down for a moment after Instagram's 504."""
    for _ in range(100):
        try:
            return list(requests.get(f"{url}/_sim/sent", timeout=5).json())
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} stayed down")


def _kill_loop(system: System, kills: int, sims: dict[str, str]) -> int:
    """SIGKILL the worker while it waits inside a post, `kills` times."""
    rng = random.Random(7)
    done, deadline = 0, time.monotonic() + 120
    posting = tab_busy(*sims.values())
    while done < kills and time.monotonic() < deadline:
        # inside the post (at least 1.25 s long)
        if kill_worker_mid_call(
            system, "comment", rng=rng, inside=(0.1, 1.0), timeout=5, busy=posting
        ):
            done += 1
            time.sleep(0.3)
    return done


def _settled(system: System, ids: list[str], ends: set[str]) -> None:
    system.wait_for(
        lambda: all(system.task(i)["status"] in ends for i in ids), 240, "the comments to settle"
    )


def test_killing_the_worker_mid_post_never_duplicates_or_loses_a_comment(tmp_path):
    offset = free_offset(["threads_comments", "instagram_comments"])
    sims = {p: f"http://127.0.0.1:{port + offset}" for p, port in PLATFORMS.items()}
    system = System(
        tmp_path,
        THREADS_COMMENTS_URL=sims["threads"],
        INSTAGRAM_COMMENTS_URL=sims["instagram"],
        DM_ACTIVE_START="00:00",
        DM_ACTIVE_END="00:00",
        DM_LIMITS="threads:comment=100000/100000/0-0,instagram:comment=100000/100000/0-0",
        DM_SEND_MAX_RETRIES="8",
        SIM_TIME_SCALE=str(SCALE),
        Q_WORKERS="1",
    )
    try:
        system.start_all()
        system.spawn(
            "simulate",
            sys.executable,
            "manage.py",
            "simulate",
            "--port-offset",
            str(offset),
            "--only",
            "threads_comments,instagram_comments",
        )
        system.wait_for(lambda: all(_up(url) for url in sims.values()), 30, "the simulators")
        for url in sims.values():
            requests.post(f"{url}/_sim/reset", timeout=5)
            requests.post(
                f"{url}/_sim/config",
                # One post on each outlasts the services' 30 s: 504 while it goes on; then
                # Instagram's service is down (connections refused) for 2 s.
                json={"hourly_limit": 10**6, "daily_limit": 10**6, "slow_next": 1,
                      "down_after_504": 8},
                timeout=5,
            )  # fmt: skip
        ids = []
        for n in range(TASKS):
            platform = list(PLATFORMS)[n % 2]
            answer = system.api(
                "POST",
                "/api/scheduler/task",
                json={
                    "type": "comment",
                    "platform": platform,
                    "payload": {"postUrl": f"https://{platform}.example/p/{n}", "text": f"#{n}"},
                },
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["taskId"])

        kills = _kill_loop(system, KILLS, sims)
        _settled(system, ids, {"completed", "failed", "cancelled", "blocked"})
        time.sleep(10 / SCALE * 2)  # a post still going on behind a 504 lands meanwhile
        posted = {p: Counter(d["post_url"] for d in _sent(url)) for p, url in sims.items()}
        tasks = [system.task(i) for i in ids]
        blocked = [t for t in tasks if t["status"] == "blocked"]
        for task in blocked:  # the human looks at the post, as the wait reason asks
            assert "check" in task["waitReason"], task
            seen = posted[task["platform"]][task["payload"]["postUrl"]] > 0
            decision = "sent" if seen else "resend"
            answer = system.api(
                "POST", f"/api/dm/sends/{task['id']}/decide", json={"decision": decision}
            )
            assert answer.status_code == 200, answer.text
        _settled(system, ids, {"completed", "failed", "cancelled"})
        posted = {p: Counter(d["post_url"] for d in _sent(url)) for p, url in sims.items()}
        tasks = [system.task(i) for i in ids]
    finally:
        system.stop()

    wanted = [(t["platform"], t["payload"]["postUrl"]) for t in tasks]
    assert kills >= 2, kills
    # Every kill mid-post and both 504s left an unknown outcome: each waited for a human.
    assert len(blocked) >= max(kills, 2), [t["status"] for t in tasks]
    assert Counter(t["status"] for t in tasks) == {"completed": TASKS}, tasks
    assert [posted[p][url] for p, url in wanted] == [1] * TASKS  # 0 duplicates, 0 lost
