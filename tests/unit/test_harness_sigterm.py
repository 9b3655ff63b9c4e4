"""A benchmark stopped with SIGTERM must not leave the system's processes running: found when a
killed `manage.py bench` left its workers and dispatcher behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys, time
from pathlib import Path
from harness.system import System
Path(sys.argv[1]).mkdir()
system = System(Path(sys.argv[1]), "sqlite")
proc = system.spawn("sleeper", sys.executable, "-c", "import time; time.sleep(120)")
Path(sys.argv[2]).write_text(str(proc.pid))
time.sleep(120)
"""


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_sigterm_to_the_process_that_started_a_system_stops_its_processes(tmp_path) -> None:
    said = tmp_path / "pid"
    root = Path(__file__).resolve().parents[2]
    runner = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "sys"), str(said)], cwd=root
    )
    try:
        deadline = time.monotonic() + 60
        while not (said.exists() and said.read_text()):
            assert time.monotonic() < deadline, "the system never started its process"
            time.sleep(0.05)
        child = int(said.read_text())
        assert _running(child)
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(child)
    finally:
        runner.kill()
