"""The e2e tests' view of the process harness (`harness`, shared with the benchmarks).

Everything is the shared harness's; only a missing Postgres or Redis is the tests' own call:
the scale profile is skipped on a machine without them and fails in CI (`CI=true`).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FAST,
    ROOT,
    free_offset,
    free_port,
    reachable,
    scale_available,
    simulator_url,
)
from harness import System as _System

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "FAST",
    "ROOT",
    "System",
    "free_offset",
    "free_port",
    "reachable",
    "scale_available",
    "simulator_url",
]


class System(_System):
    def scale_unavailable(self, message: str) -> NoReturn:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"Postgres and Redis must be reachable in CI for the scale profile: {message}"
            )
        pytest.skip(f"{message}: scale profile not tested")
