"""The one process harness: the environment each profile gives the processes, free ports for
the simulators, and what a missing Postgres or Redis means to the tests."""

from __future__ import annotations

import socket
import sys
import time

import pytest

import harness
import harness.system
from harness import ScaleUnavailable, System, free_offset, simulator_port
from tests.e2e import harness as e2e_harness


@pytest.fixture
def caller_env(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("SQLITE_PATH", "bench-results/bench.sqlite3")


def test_the_sqlite_profile_runs_on_a_file_of_its_own_whatever_the_caller_points_at(
    tmp_path, caller_env
):
    system = System(tmp_path, Q_WORKERS="1")
    assert system.env["SQLITE_PATH"] == str(tmp_path / "db.sqlite3")
    assert "DATABASE_URL" not in system.env
    assert "REDIS_URL" not in system.env
    assert system.env["DATA_DIR"] == str(tmp_path)
    assert system.env["Q_WORKERS"] == "1"  # the caller's own settings win over the fast ones
    assert system.env["SCHEDULER_LEADER_LEASE_SECONDS"] == "2"


def test_the_inherit_profile_keeps_the_callers_database_and_broker_and_timings(
    tmp_path, caller_env
):
    system = System(tmp_path, "inherit", fast=False, environ={"Q_SAVE_LIMIT": "0"})
    assert system.env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:5432/bench"
    assert system.env["REDIS_URL"] == "redis://127.0.0.1:6379/1"
    assert system.env["SQLITE_PATH"] == "bench-results/bench.sqlite3"
    assert system.env["Q_SAVE_LIMIT"] == "0"
    assert "SCHEDULER_LEADER_LEASE_SECONDS" not in system.env


def test_an_unknown_profile_is_refused(tmp_path):
    with pytest.raises(ValueError, match="profile"):
        System(tmp_path, "mysql")


def test_without_postgres_or_redis_the_scale_profile_raises_for_a_benchmark(tmp_path, monkeypatch):
    monkeypatch.setattr(harness.system, "scale_available", lambda: False)
    with pytest.raises(ScaleUnavailable):
        System(tmp_path, "scale")


def test_without_postgres_or_redis_the_scale_profile_skips_a_test_and_fails_it_in_ci(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(harness.system, "scale_available", lambda: False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        e2e_harness.System(tmp_path, "scale")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        e2e_harness.System(tmp_path, "scale")


def test_the_simulators_offset_leaves_every_asked_port_free():
    keys = ["twitter_dm", "sora"]
    offset = free_offset(keys)
    for key in keys:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", simulator_port(key, offset)))
    assert simulator_port("sora", offset) == 7070 + offset


def test_the_offset_search_skips_a_port_in_use(monkeypatch):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    try:
        busy = taken.getsockname()[1]
        first = busy - 3003  # the X DM simulator's port with this offset is the busy one
        offsets = iter([first, first + 1])
        monkeypatch.setattr(harness.ports.random.Random, "randrange", lambda *a: next(offsets))
        assert free_offset(["twitter_dm"]) == first + 1
    finally:
        taken.close()


def test_the_e2e_tests_import_the_same_harness():
    assert issubclass(e2e_harness.System, harness.System)
    assert e2e_harness.free_offset is harness.free_offset
    assert e2e_harness.ROOT == harness.ROOT


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_system_left_running_is_stopped_whole_and_named(tmp_path):
    """A test that fails while starting its system never calls `stop()`: the exit hook and
    the per-test check stop every process it started, one replaced under the same name and
    the children of a leader that is already gone included."""
    system = System(tmp_path)
    first = system.spawn("sleeper", "sleep", "60")
    second = system.spawn("sleeper", "sleep", "60")  # replaces the first under its name
    leader = system.spawn("family", "sh", "-c", f"sleep 60 & echo $! > {tmp_path}/child.pid")
    leader.wait(timeout=10)
    child = int((tmp_path / "child.pid").read_text())
    assert _alive(child)
    assert harness.system.stop_all() == [str(tmp_path)]
    assert first.poll() is not None
    assert second.poll() is not None
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    assert harness.system.stop_all() == []  # stopped systems are not named again


BURN_IN_OWN_SESSION = """
import subprocess, sys, time
code = (
    "import time\\nt = time.process_time()\\n"
    "while time.process_time() - t < 0.4: pass\\ntime.sleep(60)"
)
subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
time.sleep(60)
"""


def test_cpu_seconds_counts_a_child_that_runs_in_a_session_of_its_own(tmp_path):
    # `manage.py workers` runs its django-q2 cluster in a session of its own: its CPU is the
    # workers' CPU, and a bench's idle-CPU figure must include it.
    system = System(tmp_path)
    system.spawn("burner", sys.executable, "-c", BURN_IN_OWN_SESSION)
    try:
        deadline = time.monotonic() + 20
        while system.cpu_seconds() < 0.35 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert system.cpu_seconds() >= 0.35
    finally:
        system.stop(timeout=5)
