"""`python -m safari_auto.web`: WEB_PROCESSES daphne processes on one listening socket. They
all serve the API, and a stop ends every one of them."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.system import children
from tests.e2e.harness import System

pytestmark = pytest.mark.e2e


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_two_web_processes_share_the_port_and_stop_together(tmp_path):
    system = System(tmp_path, "sqlite", WEB_PROCESSES="2")
    try:
        system.setup()
        system.start_web()
        launcher = system.procs["web"]
        daphnes = children(launcher.pid)
        assert len(daphnes) == 2, daphnes
        before = {pid: _cpu_ticks(pid) for pid in daphnes}

        def read(_: int) -> int:
            return system.api("GET", "/api/scheduler/queue").status_code

        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(read, range(200))) == {200}
        busy = [pid for pid in daphnes if _cpu_ticks(pid) > before[pid] + 5]
        assert len(busy) == 2, "both processes answer requests"

        started = time.monotonic()
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=15)
        for pid in daphnes:
            while os.path.exists(f"/proc/{pid}") and time.monotonic() - started < 15:
                time.sleep(0.1)
        assert not [pid for pid in daphnes if os.path.exists(f"/proc/{pid}")]
    finally:
        system.stop()
