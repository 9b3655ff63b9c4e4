"""Sora auto-resume with real processes (issue 5, item 9).

daphne + qcluster + the dispatcher + `manage.py simulate --only twitter,sora`. The Sora
simulator starts with 0 credits: the trilogy waits for its credits while queued DMs run. Then the
simulator refreshes, a credit check reads it, and the three parts run in order, each submitted
ahead of every DM still waiting, with DMs running on Safari while the parts generate.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.harness import System, free_offset

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLATFORM = "twitter"
# At most 2 DMs go out while a part generates (one per gap), so 13 leave some waiting for every
# part even on a slow machine. The X simulator accepts 15 an hour.
DMS = 13
DM_GAP_SECONDS = 3  # between two DMs of the account
GENERATION_SECONDS = 4.0  # each part generates this long in the simulator

# Everything the assertions need, read from the system's own database in one process.
DUMP = """
import json
from scheduler.models import Event, Task
from sora.models import Video
def iso(m):
    return m.isoformat() if m else None
tasks = [
    {"id": t.pk, "type": t.type, "status": t.status, "claimedAt": iso(t.claimed_at),
     "startedAt": iso(t.started_at), "finishedAt": iso(t.finished_at), "result": t.result}
    for t in Task.objects.order_by("id")
]
videos = [
    {"id": v.pk, "taskId": v.task_id, "part": v.part.part, "state": v.state,
     "commandId": v.command_id, "submittedAt": iso(v.submitted_at),
     "videoPath": v.video_path, "fileSize": v.file_size}
    for v in Video.objects.select_related("part").order_by("part__part")
]
submits = [
    [e.subject_id, iso(e.created_at)]
    for e in Event.objects.filter(kind="sora.video_submitted").order_by("id")
]
print(json.dumps({"tasks": tasks, "videos": videos, "submitEvents": submits}))
"""


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def _dump(system: System) -> dict[str, Any]:
    """The DUMP's JSON: the last line (the shell may print a banner first)."""
    return json.loads(system.manage("shell", "-c", DUMP).strip().splitlines()[-1])


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def test_a_trilogy_waits_for_credits_then_runs_in_order_between_dms(tmp_path):
    offset = free_offset(["twitter_dm", "sora"])
    dm_url = f"http://127.0.0.1:{3003 + offset}"
    sora_url = f"http://127.0.0.1:{7070 + offset}"
    system = System(
        tmp_path,
        TWITTER_DM_URL=dm_url,
        SORA_URL=sora_url,
        DM_ACTIVE_START="00:00",
        DM_ACTIVE_END="00:00",
        DM_LIMITS=f"{PLATFORM}:dm=1000/1000/{DM_GAP_SECONDS}-{DM_GAP_SECONDS}",
        SIM_TIME_SCALE="1",  # generation time is set through the simulator's faults below
        SORA_POLL_SECONDS="0.2",
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
            f"{PLATFORM},sora",
            "--reply-probability",
            "0",
        )
        system.wait_for(lambda: _up(f"{dm_url}/health"), 30, "the X DM simulator")
        system.wait_for(lambda: _up(f"{sora_url}/_sim/state"), 30, "the Sora simulator")
        # No credits, and no refresh of its own during the test: only the one we ask for. The
        # `kind` profile shows credits before any command has run (the real service answers
        # -1 until then), which is what waiting for credits needs to be observed.
        faults = requests.post(
            f"{sora_url}/_sim/faults",
            json={
                "profile": "kind",
                "set_credits": {"free": 0, "paid": 0},
                "generation_seconds": GENERATION_SECONDS,
                "refreshes_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            },
            timeout=5,
        ).json()
        assert faults["remaining"] == 0, faults

        assert "3 trilogies" in system.manage("sora", "import", "sora/fixtures/trilogies.json")
        queued = system.api("POST", "/api/sora/queue-trilogy", json={"trilogyId": "first_contact"})
        assert queued.status_code == 201, queued.text
        parts = queued.json()["taskIds"]
        assert len(parts) == 3, queued.json()
        dms = []
        for n in range(DMS):
            sent = system.api(
                "POST",
                "/api/dm/send",
                json={"platform": PLATFORM, "username": f"friend{n}", "text": f"hello {n}"},
            )
            assert sent.status_code == 201, sent.text
            dms.append(sent.json()["taskId"])

        # Credits read as 0: part 1 waits with its reason while DMs go out.
        def waiting_on_credits() -> dict[str, Any] | None:
            first = system.task(parts[0])
            reason = first.get("waitReason") or ""
            return first if first["status"] == "pending" and "needs 3 credits" in reason else None

        first = system.wait_for(waiting_on_credits, 60, "part 1 to wait for its credits")
        assert "0 free" in first["waitReason"], first
        system.wait_for(
            lambda: sum(system.task(d)["status"] == "completed" for d in dms) >= 2,
            60,
            "two DMs to complete while the trilogy waits",
        )
        assert [system.task(p)["status"] for p in parts] == ["pending"] * 3
        assert requests.get(f"{sora_url}/_sim/state", timeout=5).json()["posts"] == 0
        credits = system.api("GET", "/api/sora/credits").json()["credits"]
        assert credits["remainingCredits"] == 0, credits

        # The simulator refreshes; a credit check reads it and the trilogy resumes by itself.
        refreshed = requests.post(
            f"{sora_url}/_sim/faults", json={"force_refresh": True}, timeout=5
        ).json()
        assert refreshed["remaining"] >= 3, refreshed
        assert "credit check queued" in system.manage("sora", "check")

        for part in parts:
            done = system.wait_status(part, {"completed", "failed", "blocked"}, timeout=120)
            assert done["status"] == "completed", done
        # Some DM still runs after the last part took Safari (and so after it was submitted:
        # a part holds Safari until its 202), else the checks below would prove nothing.
        part3_start = _at(system.task(parts[2])["startedAt"])
        system.wait_for(
            lambda: any(
                (t := system.task(d))["startedAt"] and _at(t["startedAt"]) > part3_start
                for d in dms
            ),
            60,
            "a DM to start after part 3",
        )
        db = _dump(system)
        sim = requests.get(f"{sora_url}/_sim/state", timeout=5).json()
    finally:
        system.stop()

    tasks = {str(t["id"]): t for t in db["tasks"]}
    videos = db["videos"]
    part_tasks = [tasks[p] for p in parts]
    dm_tasks = [tasks[d] for d in dms]

    # The three parts ran in order, each once, each with its video.
    starts = [_at(t["startedAt"]) for t in part_tasks]
    assert starts[0] < starts[1] < starts[2], starts
    assert [v["taskId"] for v in videos] == [int(p) for p in parts]
    for task, video in zip(part_tasks, videos, strict=True):
        assert task["status"] == "completed"
        assert task["result"]["commandId"] == video["commandId"], (task, video)
        assert task["result"]["fileSize"] > 0, task
        assert Path(task["result"]["videoPath"]).stat().st_size == task["result"]["fileSize"]
        assert video["state"] == "succeeded"
        assert video["videoPath"] == task["result"]["videoPath"]
    # Each part was submitted once: one command each in the simulator, one event each.
    assert sim["posts"] == 3, sim
    assert sorted(c["id"] for c in sim["commands"]) == sorted(v["commandId"] for v in videos)
    submits = dict(db["submitEvents"])
    assert len(db["submitEvents"]) == 3, db["submitEvents"]
    assert sorted(submits) == sorted(str(v["id"]) for v in videos), submits

    # When each part became runnable: part 1 after the check that saw the refreshed credits,
    # the next ones when the part before them completed.
    refresh_check = next(
        t
        for t in db["tasks"]
        if t["type"] == "sora_check"
        and t["status"] == "completed"
        and (t["result"] or {}).get("remaining", 0) >= 3
    )
    ready = [_at(refresh_check["finishedAt"])] + [_at(t["finishedAt"]) for t in part_tasks[:2]]
    submitted = [_at(submits[str(v["id"])]) for v in videos]  # the sora.video_submitted event
    assert submitted == [_at(v["submittedAt"]) for v in videos]
    finished = [_at(t["finishedAt"]) for t in part_tasks]

    for n in range(3):
        # Every DM still waiting (not yet claimed) when the part became runnable started only
        # after the part was submitted: the part went first.
        waiting = [d for d in dm_tasks if d["claimedAt"] is None or _at(d["claimedAt"]) > ready[n]]
        assert any(d["startedAt"] for d in waiting), f"no DM waited for part {n + 1}"
        early = [d for d in waiting if d["startedAt"] and _at(d["startedAt"]) < submitted[n]]
        assert not early, (n + 1, submitted[n], early)

    # DMs keep Safari busy while the parts generate.
    during = [
        (n + 1, d["id"])
        for n in range(3)
        for d in dm_tasks
        if d["startedAt"] and submitted[n] < _at(d["startedAt"]) < finished[n]
    ]
    assert during, (submitted, finished, [d["startedAt"] for d in dm_tasks])
    assert all(d["status"] in ("completed", "pending", "scheduled", "running") for d in dm_tasks)
