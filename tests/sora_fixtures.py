"""Shared fixtures for the Sora tests: a simulator on a free port, the sample trilogies,
and a way to run one task through the real runner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db.models import F

from scheduler.models import Task, TaskStatus
from scheduler.runner import run
from sora.simulator import SoraSimulator


def _serve(settings: Any, profile: str) -> Iterator[SoraSimulator]:
    sim = SoraSimulator(
        "127.0.0.1", 0, time_scale=2000, free=5, free_allowance=5, profile=profile
    ).start()
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "sora": sim.url}
    settings.SORA_POLL_SECONDS = 0.05
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def sora_sim(settings: Any) -> Iterator[SoraSimulator]:
    """The Sora simulator's `kind` profile on a free port, fast (a generation takes ~0.3 s),
    and our client pointed at it: a service that shows free/paid credits and its refresh time
    (CONTRACTS.md: read them when present), for the credit-waiting logic."""
    yield from _serve(settings, "kind")


@pytest.fixture
def sora_real(settings: Any) -> Iterator[SoraSimulator]:
    """The Sora simulator as the real service behaves (its `real` profile), fast."""
    yield from _serve(settings, "real")


def sim_faults(sim: SoraSimulator, **faults: Any) -> dict[str, Any]:
    answer = requests.post(f"{sim.url}/_sim/faults", json=faults, timeout=5)
    answer.raise_for_status()
    return dict(answer.json())


def sim_state(sim: SoraSimulator) -> dict[str, Any]:
    return dict(requests.get(f"{sim.url}/_sim/state", timeout=5).json())


@pytest.fixture
def sample_trilogies(db: Any) -> list[str]:
    from sora.importer import SAMPLE_FILE, batch_import_file

    return batch_import_file(path=SAMPLE_FILE).created


def claim_and_run(task_id: int) -> str:
    """Claim a pending task as the dispatcher would (conditional update), then run it."""
    task = Task.objects.get(pk=task_id)
    attempt = task.attempt + 1
    claimed = Task.objects.filter(pk=task_id, status=TaskStatus.PENDING).update(
        status=TaskStatus.SCHEDULED,
        attempt=F("attempt") + 1,
        holds_safari=task.req_safari_exclusive,
        claimed_by="test",
    )
    assert claimed == 1, f"task {task_id} was not pending"
    return run(task_id, attempt)
