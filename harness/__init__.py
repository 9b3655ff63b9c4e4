"""One process harness for the e2e tests and the benchmarks: the system as real processes
(daphne, qcluster, the dispatcher, the simulators) on free ports, on SQLite or on Postgres +
Redis. It may import the apps; no app imports it (an import-linter contract)."""

from harness.browser import CHROMIUM, CHROMIUM_ARGS
from harness.ports import free_offset, free_port, reachable, simulator_port, simulator_url
from harness.system import (
    ADMIN_PASSWORD,
    FAST,
    ROOT,
    ScaleUnavailable,
    System,
    scale_available,
)

__all__ = [
    "ADMIN_PASSWORD",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "FAST",
    "ROOT",
    "ScaleUnavailable",
    "System",
    "free_offset",
    "free_port",
    "reachable",
    "scale_available",
    "simulator_port",
    "simulator_url",
]
