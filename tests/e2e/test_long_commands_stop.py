"""A long command that starts a whole system (`bench`, `load`, `soak`, `chaos`) and is stopped
with SIGTERM (a `kill`, a CI timeout) stops that system's processes on its way out: a killed
`manage.py bench` used to leave its workers and dispatcher running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.system import descendants

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
COMMANDS = {
    "bench": ["bench", "recovery", "--quick"],
    "load": ["load", "--clients", "2", "--seconds", "120", "--profile", "sqlite"],
    "soak": ["soak", "--minutes", "5"],
    "chaos": ["chaos", "--fault", "idle-worker", "--times", "1"],
}


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (found := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_sigterm_stops_the_command_and_every_process_it_started(tmp_path, name):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safari_auto.settings",
        "DATA_DIR": str(tmp_path),
        "SQLITE_PATH": str(tmp_path / "bench.sqlite3"),
    }
    command = [sys.executable, "manage.py", *COMMANDS[name], "--out", str(tmp_path / "out")]
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    started: list[int] = []
    try:
        # The simulators, the web, the workers and the dispatcher: a system is running.
        started = _wait(
            lambda: (found := descendants(proc.pid)) and len(found) >= 4 and found,
            180,
            f"{name} never started a system",
        )
        time.sleep(1)
        started = sorted(set(started) | set(descendants(proc.pid)))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        _wait(
            lambda: not [pid for pid in started if _alive(pid)],
            30,
            f"{name} left processes running after SIGTERM",
        )
    finally:
        for pid in {proc.pid, *started, *descendants(proc.pid)}:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
