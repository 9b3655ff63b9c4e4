"""`python -m safari_auto.web`: WEB_PROCESSES daphne processes on one listening socket. They
all serve the API, and a stop ends every one of them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import websockets

from benchmarks.soak import _login
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


def _sockets(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            continue
    return count


async def _listen(url: str, cookie: str, origin: str, count: int, created: Any) -> list[bool]:
    """`count` dashboard sockets, opened at once; after `created()` each says whether it got
    the new task's event."""
    headers = {"Cookie": cookie, "Origin": origin}
    sockets = await asyncio.gather(
        *(websockets.connect(url, additional_headers=headers) for _ in range(count))
    )
    for socket in sockets:
        json.loads(await asyncio.wait_for(socket.recv(), 30))  # the snapshot
    name = await asyncio.to_thread(created)

    async def hears(socket: Any) -> bool:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = await asyncio.wait_for(socket.recv(), deadline - time.monotonic())
            if name in message:
                return True
        return False

    try:
        return list(await asyncio.gather(*(hears(socket) for socket in sockets)))
    finally:
        await asyncio.gather(*(socket.close() for socket in sockets))


def test_every_web_process_pushes_events_to_its_own_dashboard_sockets(tmp_path):
    """On SQLite (the in-memory channel layer) each process's relay feeds its own sockets."""
    system = System(tmp_path, "sqlite", WEB_PROCESSES="2")
    try:
        system.setup()
        system.start_web()
        daphnes = children(system.procs["web"].pid)
        idle = {pid: _sockets(pid) for pid in daphnes}
        browser = _login(system)
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        url = system.base.replace("http://", "ws://") + "/ws/dashboard/"
        held: dict[int, int] = {}

        def create() -> str:
            held.update({pid: _sockets(pid) - idle[pid] for pid in daphnes})
            answer = system.api(
                "POST", "/api/scheduler/task", json={"type": "check", "name": "ws-probe"}
            )
            assert answer.status_code == 201, answer.text
            return "ws-probe"

        heard = asyncio.run(_listen(url, cookie, system.base, 16, create))
        assert all(heard), heard
        assert all(count >= 1 for count in held.values()), f"sockets per process: {held}"
    finally:
        system.stop()
