"""The work a chaos round puts at risk, and how the simulators count it.

Each kind of work makes a task through the public API and names the one thing a simulator
records when the work is done (a DM to a username, a comment on a post URL, a Sora command
for a prompt): `delivered(key)` is how many times that happened. A human's decision for a
task that waits for one is taken from the same truth ("sent" if the simulator has it).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import requests

from benchmarks.chaos.runner import FINAL, Tally, tab_busy, wait_settled
from harness import System

DM_PLATFORMS = ("tiktok", "instagram", "twitter")


def _get(url: str) -> Any:
    """A simulator's answer; it may be restarting (the simulator-drop fault)."""
    for _ in range(150):
        try:
            return requests.get(url, timeout=5).json()
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} stayed down")


@dataclass
class Work:
    """One kind of work on one simulator (`url`)."""

    kind: str  # dm | comment | sora
    platform: str
    url: str

    @property
    def task_type(self) -> str:
        return self.kind

    def create(
        self, system: System, number: int, label: str, *, host: str | None = None
    ) -> tuple[str, str]:
        """Make one task (a DM pinned to Safari host `host`, if given); (task id, the key the
        simulator counts it by)."""
        if host is not None and self.kind != "dm":
            raise ValueError(f"only DMs are pinned to a host here, not {self.kind}")
        if self.kind == "dm":
            key = f"{label}{number}"
            body: dict[str, Any] = {
                "platform": self.platform,
                "username": key,
                "text": f"chaos {label} #{number}",
                **({"safariHost": host} if host else {}),
            }
            answer = system.api("POST", "/api/dm/send", json=body)
        elif self.kind == "comment":
            key = f"https://{self.platform}.example/p/{label}{number}"
            body = {
                "type": "comment",
                "platform": self.platform,
                "payload": {"postUrl": key, "text": f"chaos #{number}"},
            }
            answer = system.api("POST", "/api/scheduler/task", json=body)
        else:
            key = f"chaos {label} #{number}: a slow pan over a quiet harbour at dawn"
            videos = {"videos": [{"prompt": key, "title": f"{label} {number}"}]}
            answer = system.api("POST", "/api/sora/videos", json=videos)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"creating {self.kind} work: {answer.status_code} {answer.text}")
        return str(answer.json()["taskId"]), key

    def counts(self) -> Counter[str]:
        """How many times the simulator did each key's work."""
        if self.kind == "sora":
            state = _get(f"{self.url}/_sim/state")
            # A trilogy's part goes out with its character appended (sora.client's
            # generation_prompt): count it by the prompt it was made from.
            return Counter(
                str(c["payload"].get("prompt")).split("\n\nCharacter:")[0]
                for c in state["commands"]
            )
        field = "username" if self.kind == "dm" else "post_url"
        return Counter(str(d.get(field)) for d in _get(f"{self.url}/_sim/sent"))

    def busy(self) -> bool:
        """The DM or comment service is inside a send or post (its Safari tab is busy; Sora:
        True, a kill lands inside its call by timing alone)."""
        return self.kind == "sora" or tab_busy(self.url)()

    def decision(self, done: bool) -> str:
        if self.kind == "sora":
            return "generated" if done else "resubmit"
        return "sent" if done else "resend"


@dataclass
class Item:
    """One task a round made: its work and the key its simulator counts it by."""

    work: Work
    key: str


def settle(system: System, items: dict[str, Item], *, timeout: float) -> Tally:
    """Every task ends or waits for a human; the human decides from what the simulator shows
    ("sent" when it has the work, else "resend"); then count duplicates and losses there."""
    ids = list(items)
    tasks = wait_settled(system, ids, timeout)
    blocked = [t for t in tasks if t["status"] == "blocked"]
    if blocked:
        time.sleep(1)  # a call still going on behind a kill lands meanwhile
    for task in blocked:
        item = items[str(task["id"])]
        done = item.work.counts()[item.key] > 0
        answer = system.api(
            "POST",
            f"/api/scheduler/task/{task['id']}/decide",
            json={"decision": item.work.decision(done), "note": "chaos: as the simulator shows"},
        )
        if answer.status_code != 200:
            raise RuntimeError(f"deciding {task['id']}: {answer.status_code} {answer.text}")
    if blocked:
        tasks = wait_settled(system, ids, timeout)
    return count(tasks, items, blocked=len(blocked))


def count(tasks: list[dict[str, Any]], items: dict[str, Item], *, blocked: int) -> Tally:
    counts: dict[str, Counter[str]] = {}
    for item in items.values():
        if item.work.url not in counts:
            counts[item.work.url] = item.work.counts()
    done = [counts[items[str(t["id"])].work.url][items[str(t["id"])].key] for t in tasks]
    tally = Tally(
        tasks=len(tasks),
        duplicates=sum(max(n - 1, 0) for n in done),
        lost=sum(1 for n in done if n == 0),
        stuck=sum(1 for t in tasks if t["status"] not in FINAL),
        blocked=blocked,
        statuses=dict(Counter(str(t["status"]) for t in tasks)),
    )
    still = sum(1 for t in tasks if t["status"] == "blocked")
    if still:
        tally.notes.append(f"{still} still blocked after the human's decision")
    return tally
