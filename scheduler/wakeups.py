"""Wake-ups by notification on Postgres.

A trigger on the event table (migration 0006) notifies at commit: `scheduler_event` for every
statement that inserts events, `scheduler_wake` when one of them can change eligibility (each
payload is the newest such id). A `Listener` LISTENs on a dedicated psycopg connection, never
Django's (which may be pooled, closed between requests, or inside a transaction), in a daemon
thread of its own, and calls `on_notify(channel, payload)` for each notification.

Each time it starts listening it calls `on_notify("", "")`: whatever committed before (or
while it was away) was never notified. A lost connection is logged, `connected` clears,
`on_notify("", "")` says so, and the thread reconnects after `reconnect_seconds`. It ends
when `stop()` is called or `alive()` turns false (its owner is gone).

The waits built on it (the dispatcher's and the dashboard relay's) keep a poll: fast while
`connected` is clear, slow (a safety net) while it is set. SQLite has no NOTIFY:
`listener_for` returns None there, and they poll as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

logger = logging.getLogger(__name__)

CHANNEL_EVENTS = "scheduler_event"
CHANNEL_WAKES = "scheduler_wake"
# How often the listening thread looks up from the socket to see whether it should stop.
TICK_SECONDS = 0.5
# Keepalives find a peer that vanished without closing the connection (a lost network).
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3}  # fmt: skip
# Django's connection parameters that are not libpq's (its cursor class, adapters).
NOT_LIBPQ = ("cursor_factory", "context", "prepare_threshold")

Notify = Callable[[str, str], None]


def connection_params(alias: str = DEFAULT_DB_ALIAS) -> dict[str, Any]:
    """libpq parameters for a connection of our own to the database Django uses (under tests,
    the test database)."""
    params: dict[str, Any] = connections[alias].get_connection_params()
    for name in NOT_LIBPQ:
        params.pop(name, None)
    params.setdefault("connect_timeout", 5)
    params.setdefault("application_name", "safari-auto wakeups")
    for name, value in KEEPALIVES.items():
        params.setdefault(name, value)
    return params


class Listener:
    """LISTEN on `channels` in a daemon thread; see the module's docstring."""

    def __init__(
        self,
        channels: Iterable[str],
        on_notify: Notify,
        *,
        params: dict[str, Any],
        reconnect_seconds: float = 1.0,
        name: str = "wakeups",
        alive: Callable[[], bool] = lambda: True,
    ) -> None:
        self.alive = alive
        self.channels = tuple(channels)
        self.on_notify = on_notify
        self.params = params
        self.reconnect_seconds = reconnect_seconds
        self.name = name
        self.connected = threading.Event()
        self.backend_pid: int | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Listener:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = TICK_SECONDS * 2) -> None:
        """Ask the thread to end and wait for it a little: a daemon, it never holds up exit."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None

    def _ending(self) -> bool:
        return self._stopping.is_set() or not self.alive()

    def _run(self) -> None:
        failures = 0
        while not self._ending():
            try:
                self._listen()
            except (psycopg.Error, OSError) as exc:
                failures = 0 if self.connected.is_set() else failures + 1
                log = logger.warning if failures <= 1 else logger.debug  # once per outage
                log("%s: no listener connection (%s); polling until it is back", self.name, exc)
            except Exception:
                logger.exception("%s: listener failed; reconnecting", self.name)
            finally:
                self.connected.clear()
                self.backend_pid = None
            if self._ending():
                return
            self._tell("", "")  # whoever waits goes back to polling now
            self._stopping.wait(self.reconnect_seconds)

    def _tell(self, channel: str, payload: str) -> None:
        try:
            self.on_notify(channel, payload)
        except Exception:  # a callback's bug must not end the thread
            logger.exception("%s: on_notify failed", self.name)

    def _listen(self) -> None:
        with psycopg.connect(**self.params, autocommit=True) as conn:
            for channel in self.channels:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.backend_pid = conn.info.backend_pid
            self.connected.set()
            logger.info("%s: listening on %s", self.name, ", ".join(self.channels))
            self._tell("", "")
            while not self._ending():
                for note in conn.notifies(timeout=TICK_SECONDS):
                    self._tell(note.channel, note.payload)


def listener_for(
    channels: Iterable[str],
    on_notify: Notify,
    *,
    reconnect_seconds: float = 1.0,
    name: str = "wakeups",
    alive: Callable[[], bool] = lambda: True,
) -> Listener | None:
    """A started listener on the default database, or None where there is no NOTIFY."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return None
    return Listener(
        channels,
        on_notify,
        params=connection_params(),
        reconnect_seconds=reconnect_seconds,
        name=name,
        alive=alive,
    ).start()
