"""Concurrent API clients and their figures, for the load suite (`benchmarks.load`).

Each client is a thread with a keep-alive `requests.Session`. It sends one request every
`pace` seconds on average (a random gap of 0.5-1.5x `pace`, so the clients do not march in
step), choosing a task create with probability `create_share` and a queue read otherwise. A
client that falls behind sends its next request at once. Latency is measured per request
(send to last byte of the answer), exactly: percentiles are nearest-rank over every sample.

A request is an error when it raises (timeout, refused connection) or answers other than its
expected status (201 for a create, 200 for a read). Any answer whose body mentions "database
is locked" is counted as such too, whatever its status.

Locust was the first idea; as a library it monkey-patches the whole process with gevent at
import (this process also starts the system's processes and talks to Postgres) and reports
percentiles rounded to two significant digits, so a few threads do the job here instead.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from benchmarks.figures import pct

LOCKED = "database is locked"
EXPECTED = {"create": 201, "read": 200}
QUEUE_PATH = "/api/scheduler/queue"
CREATE_PATH = "/api/scheduler/task"


@dataclass(frozen=True)
class Sample:
    kind: str  # "create" or "read"
    started: float  # time.monotonic() at send
    ms: float
    status: int  # 0: no answer (the request raised)
    locked: bool
    detail: str = ""  # the start of a failed answer's body, or the exception


@dataclass
class Tally:
    """Every sample of every client, behind one lock."""

    samples: list[Sample] = field(default_factory=list)
    created_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample, task_id: str = "") -> None:
        with self.lock:
            self.samples.append(sample)
            if task_id:
                self.created_ids.append(task_id)


def create_body(client: int, n: int) -> dict[str, Any]:
    """A check task due now (the workers run it: the dispatcher and the workers write too)."""
    return {
        "type": "check",
        "name": f"load {client}-{n}",
        "priority": 3,
        "payload": {"seconds": 0},
        "idempotencyKey": f"load-{uuid.uuid4().hex}",
    }


def one_request(session: requests.Session, base: str, kind: str, client: int, n: int) -> Any:
    if kind == "create":
        return session.post(f"{base}{CREATE_PATH}", json=create_body(client, n), timeout=30)
    return session.get(f"{base}{QUEUE_PATH}", timeout=30)


def _measure(
    session: requests.Session, base: str, kind: str, client: int, n: int
) -> tuple[Sample, str]:
    started = time.monotonic()
    try:
        answer = one_request(session, base, kind, client, n)
        body = answer.text
    except requests.RequestException as exc:
        ms = (time.monotonic() - started) * 1000
        return Sample(kind, started, ms, 0, LOCKED in str(exc).lower(), repr(exc)[:200]), ""
    ms = (time.monotonic() - started) * 1000
    ok = answer.status_code == EXPECTED[kind]
    locked = LOCKED in body.lower()
    task_id = ""
    if ok and kind == "create":
        task_id = str(answer.json().get("taskId", ""))
    detail = "" if ok and not locked else body[:200]
    return Sample(kind, started, ms, answer.status_code, locked, detail), task_id


def client_loop(
    *,
    base: str,
    token: str,
    client: int,
    stop_at: float,
    pace: float,
    create_share: float,
    tally: Tally,
    seed: int,
) -> None:
    rng = random.Random(seed)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Token {token}"
        next_at = time.monotonic() + rng.uniform(0, pace)  # spread the clients' first sends
        n = 0
        while True:
            wait = next_at - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if time.monotonic() >= stop_at:
                return
            kind = "create" if rng.random() < create_share else "read"
            sample, task_id = _measure(session, base, kind, client, n)
            tally.add(sample, task_id)
            n += 1
            next_at = max(next_at + pace * rng.uniform(0.5, 1.5), time.monotonic())


def run_clients(
    *,
    base: str,
    token: str,
    clients: int,
    seconds: float,
    pace: float = 1.0,
    create_share: float = 0.25,
    seed: int = 0,
) -> Tally:
    """`clients` threads against `base` for `seconds`; every sample they took."""
    tally = Tally()
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=client_loop,
            kwargs={
                "base": base,
                "token": token,
                "client": n,
                "stop_at": stop_at,
                "pace": pace,
                "create_share": create_share,
                "tally": tally,
                "seed": seed * 1_000_003 + n,
            },
            name=f"load-client-{n}",
            daemon=True,
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return tally


def summarise(timed: list[Sample], every: list[Sample], seconds: float) -> dict[str, Any]:
    """Requests, requests per second, p50/p95/p99/max over `timed` (after the warm-up);
    errors and 'database is locked' over `every` sample, warm-up included."""
    ms = [s.ms for s in timed]
    errors = [s for s in every if s.status != EXPECTED[s.kind]]
    return {
        "requests": len(timed),
        "rps": round(len(timed) / seconds, 1) if seconds > 0 else None,
        "p50_ms": round(pct(ms, 50), 1),
        "p95_ms": round(pct(ms, 95), 1),
        "p99_ms": round(pct(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
        "errors": len(errors),
        "database_is_locked": sum(1 for s in every if s.locked),
        "error_samples": sorted({f"{s.status} {s.detail}" for s in errors})[:5],
    }


def figures(tally: Tally, *, since: float, seconds: float) -> dict[str, Any]:
    """Per class and overall: latencies of the requests sent at or after `since` (the
    warm-up's end) over `seconds`; errors of every request."""

    def of(kind: str | None, samples: list[Sample]) -> list[Sample]:
        return [s for s in samples if kind is None or s.kind == kind]

    timed = [s for s in tally.samples if s.started >= since]
    return {
        name: summarise(of(kind, timed), of(kind, tally.samples), seconds)
        for name, kind in (("read", "read"), ("create", "create"), ("all", None))
    }
