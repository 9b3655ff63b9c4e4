"""Helpers to run a simulator on a free port inside a test and talk to its `/_sim` routes.

The simulators run their `real` profile unless a test builds one with `profile="kind"`: slow
sends on a busy tab (at `SIM_DURATION_SCALE`, 500x in the test settings), broken X reads, 429s
without retry time (CONTRACTS.md "How the real services behave").

Use `running(service)` in a fixture of the test module:

    @pytest.fixture
    def sim():
        with running(TwitterDMSim()) as server:
            yield server
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from dm.simulator import SimServer, SimService


@contextmanager
def running(service: SimService) -> Iterator[SimServer]:
    server = SimServer(service, port=0).start()
    try:
        yield server
    finally:
        server.stop()


def set_faults(server: SimServer, **faults: Any) -> dict[str, Any]:
    answer = requests.post(f"{server.url}/_sim/faults", json=faults, timeout=5)
    answer.raise_for_status()
    return answer.json()


def configure(server: SimServer, **config: Any) -> dict[str, Any]:
    answer = requests.post(f"{server.url}/_sim/config", json=config, timeout=5)
    answer.raise_for_status()
    return answer.json()


def sent(server: SimServer) -> list[dict[str, Any]]:
    return requests.get(f"{server.url}/_sim/sent", timeout=5).json()


def seen(server: SimServer) -> list[dict[str, Any]]:
    """The calls that reached the service's own routes, oldest first."""
    return requests.get(f"{server.url}/_sim/requests", timeout=5).json()


def overlaps(server: SimServer) -> list[dict[str, Any]]:
    """Calls that reached the service's Safari tab while a send was driving it."""
    return requests.get(f"{server.url}/_sim/tab", timeout=5).json()["overlaps"]
