"""Small helpers for reporting figures."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def pct(values: list[float], q: float) -> float:
    """The `q`th percentile by nearest rank; NaN for no samples."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]


def cpu_seconds_where(match: Callable[[str], bool]) -> float:
    """User + system CPU of the live processes whose command line `match`es (Linux /proc):
    the Postgres backends of one database, say ("postgres: user dbname host(port) ...")."""
    ticks = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not match(cmdline):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of this machine spent busy since boot (everyone's work)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return Path("/proc/loadavg").read_text().strip()
