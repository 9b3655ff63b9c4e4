"""`manage.py simulate` as a real process: every service answers /health, SIGTERM exits 0."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PORTS = (3001, 3002, 3003, 3004, 3005, 3006, 3007)


def _wait_for(url: str, deadline: float) -> requests.Response:
    while True:
        try:
            return requests.get(url, timeout=1)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_simulate_serves_every_service_and_stops_cleanly_on_sigterm():
    offset = random.randint(20000, 30000)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "safari_auto.settings"}
    env.pop("SIM_PROFILE", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "simulate",
            "--port-offset",
            str(offset),
            "--only",
            "dm,comments",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        answers = [_wait_for(f"http://127.0.0.1:{p + offset}/health", deadline) for p in PORTS]
        assert [a.json()["status"] for a in answers] == ["ok"] * len(PORTS)
        for port in (3001, 3002, 3003):  # the DM services behave as the real ones by default
            config = requests.post(
                f"http://127.0.0.1:{port + offset}/_sim/config", json={}, timeout=5
            )
            assert config.json()["profile"] == "real"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"listening on http://127.0.0.1:{3001 + offset}" in out
    assert "simulators stopped" in out


def test_simulate_refuses_an_unknown_profile():
    done = subprocess.run(
        [sys.executable, "manage.py", "simulate", "--profile", "gentle"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "safari_auto.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "invalid choice: 'gentle'" in done.stderr
