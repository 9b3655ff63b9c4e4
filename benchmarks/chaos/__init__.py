"""The chaos suite (`manage.py chaos`, `make chaos`): faults injected into the running system.

Each fault (`faults.py`) runs `--times` rounds on a system of its own (real processes through
`harness.System`, short leases and fast simulators), then every task is settled and counted at
the simulators (`runner.py`). Expected for every fault: 0 duplicate deliveries, 0 lost, 0
stuck, every round recovered; the table reports recovery p50 and max (kill -> the next task
starts, or the hit task ends).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from benchmarks.chaos.faults import NAMES, build
from benchmarks.chaos.runner import FaultReport, run_fault, table

__all__ = ["NAMES", "FaultReport", "run_faults", "table"]


def run_faults(
    names: Iterable[str],
    *,
    times: int,
    tmp: Path | None = None,
    seed: int = 1,
    log: Callable[[str], None] = print,
    on_report: Callable[[list[FaultReport]], None] | None = None,
) -> list[FaultReport]:
    """Run each named fault `times` times, one after the other; their reports. Each fault's
    row is logged as it ends, and `on_report` gets the reports so far (a later fault that
    breaks the run loses nothing measured before it)."""
    root = tmp or Path(tempfile.mkdtemp(prefix="chaos-"))
    reports = []
    for name in names:
        log(f"{name}: {times} rounds")
        workdir = root / name
        workdir.mkdir(parents=True, exist_ok=True)
        reports.append(run_fault(build(name, workdir, seed=seed), times, log=log))
        log(table(reports[-1:]))
        if on_report is not None:
            on_report(reports)
    return reports
