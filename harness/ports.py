"""Free ports on this machine: for daphne, and for a whole range of simulators at once."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable

from safari_auto.demo import SERVICES


def free_port() -> int:
    """A port the kernel has just handed out (the caller binds it soon after)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts connections on `host:port` (Postgres, Redis, a simulator)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def simulator_port(key: str, offset: int) -> int:
    """Where `manage.py simulate --port-offset offset` serves service `key` (`twitter_dm`)."""
    return SERVICES[key][1] + offset


def simulator_url(key: str, offset: int) -> str:
    return f"http://127.0.0.1:{simulator_port(key, offset)}"


def free_offset(keys: Iterable[str] = SERVICES) -> int:
    """A `--port-offset` that puts each simulator of `keys` (the real port + offset) on a
    port free right now; by default every simulator's."""
    ports = sorted({SERVICES[key][1] for key in keys})
    rng = random.Random()
    for _ in range(50):
        offset = rng.randrange(20_000, 40_000)
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return offset
    raise RuntimeError("no free port range for the simulators")
