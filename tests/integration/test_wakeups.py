"""Wake-ups by notification on Postgres: a committed event wakes the dispatcher and the
dashboard relay at once, with their polls set far too slow to find it in time; a lost listener
connection falls back to the fast poll and comes back."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.utils import timezone

from dashboard import relay as relay_module
from scheduler import events, wakeups
from scheduler.dispatcher import Dispatcher
from tests.conftest import make_user
from tests.integration.test_dashboard_consumer import connect, receive_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="LISTEN/NOTIFY is Postgres's; SQLite keeps polling (its own tests cover that)",
    ),
]

SLOW = 30.0  # a poll this slow cannot be what wakes anything within the test's bound


def record(kind: str = "task.created") -> int:
    """Write one event and commit it."""
    with transaction.atomic():
        return events.record(kind, subject="test", message="wake up").pk


def record_later(delay: float, kind: str = "task.created") -> tuple[threading.Thread, list[int]]:
    """Commit an event from another connection after `delay` seconds (as a worker would)."""
    written: list[int] = []

    def write() -> None:
        time.sleep(delay)
        try:
            written.append(record(kind))
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    return thread, written


@pytest.fixture
def dispatcher(settings: Any) -> Iterator[Dispatcher]:
    dispatcher = Dispatcher(name="wakeups-test", enqueue_fn=lambda *args: None)
    dispatcher.conf = {
        **settings.SCHEDULER,
        "POLL_SECONDS": SLOW,
        "NOTIFY_POLL_SECONDS": SLOW,
        "MAX_SLEEP_SECONDS": SLOW,
    }
    dispatcher._last_wake_id = dispatcher.latest_wake_id()
    dispatcher.listen()
    settle(dispatcher)
    yield dispatcher
    dispatcher.stop()
    if dispatcher.listener is not None:
        dispatcher.listener.stop()


def settle(dispatcher: Dispatcher) -> None:
    """Wait until it listens, and let the wake that says so (it may have missed events) pass."""
    assert dispatcher.listener is not None
    assert dispatcher.listener.connected.wait(10), "the listener never connected"
    dispatcher.wait(timezone.now() + timedelta(seconds=0.3))


def timed_wait(dispatcher: Dispatcher) -> float:
    start = time.monotonic()
    dispatcher.wait(timezone.now() + timedelta(seconds=SLOW))
    return time.monotonic() - start


def test_a_committed_waking_event_wakes_the_dispatcher_with_its_poll_set_slow(dispatcher):
    thread, written = record_later(0.3)
    took = timed_wait(dispatcher)
    thread.join()
    assert 0.25 <= took < 2.0, f"woke after {took:.2f}s"
    assert dispatcher._last_wake_id == written[0]  # the payload says which event woke it


def test_its_own_claims_do_not_wake_it(dispatcher):
    thread, _ = record_later(0.1, kind="task.claimed")
    start = time.monotonic()
    dispatcher.wait(timezone.now() + timedelta(seconds=1.5))
    thread.join()
    assert time.monotonic() - start >= 1.4


def test_a_lost_listener_falls_back_to_the_poll_and_listens_again(dispatcher):
    listener = dispatcher.listener
    assert listener is not None
    lost_pid = listener.backend_pid
    good = listener.params
    listener.params = {**good, "port": 1}  # it cannot reconnect until this is put back
    terminate(lost_pid)
    deadline = time.monotonic() + 5
    while listener.connected.is_set():
        assert time.monotonic() < deadline, "the lost connection went unnoticed"
        time.sleep(0.02)
    dispatcher.wait(timezone.now() + timedelta(seconds=0.3))  # the wake that says it was lost

    dispatcher.conf["POLL_SECONDS"] = 0.05  # the fast poll, as deployed
    thread, written = record_later(0.3)
    took = timed_wait(dispatcher)
    thread.join()
    assert not listener.connected.is_set()  # the poll found it, not a notification
    assert took < 2.0
    assert dispatcher._last_wake_id == written[0]

    listener.params = good
    assert listener.connected.wait(10), "it never listened again"
    assert listener.backend_pid not in (None, lost_pid)
    dispatcher.conf["POLL_SECONDS"] = SLOW
    settle(dispatcher)
    thread, written = record_later(0.3)
    took = timed_wait(dispatcher)
    thread.join()
    assert took < 2.0, f"woke after {took:.2f}s"
    assert dispatcher._last_wake_id == written[0]


def test_the_dashboard_relay_pushes_an_event_without_polling(monkeypatch):
    relay = relay_module.Relay(poll_seconds=SLOW, safety_poll_seconds=SLOW)
    monkeypatch.setattr(relay_module, "_relay", relay)
    # As under daphne: each thread's connection closes after use (none left on the test db).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    viewer = make_user("watcher", "viewer")

    async def scenario() -> None:
        communicator, connected, _ = await connect(viewer)
        assert connected
        await communicator.receive_json_from(timeout=5)  # the snapshot
        deadline = time.monotonic() + 10
        while relay.listener is None or not relay.listener.connected.is_set():
            assert time.monotonic() < deadline, "the relay never listened"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # the read that follows connecting
        start = time.monotonic()
        event_id = await database_sync_to_async(record)()
        seen = await receive_until(
            communicator, lambda got: any(e["id"] == event_id for e in got), timeout=2.0
        )
        assert time.monotonic() - start < 2.0
        assert event_id in [e["id"] for e in seen]
        await communicator.disconnect()
        await relay.stop()
        assert relay.listener is None

    asyncio.run(scenario())


def test_the_relay_polls_while_its_listener_is_lost_and_listens_again(monkeypatch):
    relay = relay_module.Relay(poll_seconds=0.05, safety_poll_seconds=SLOW)
    monkeypatch.setattr(relay_module, "_relay", relay)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    viewer = make_user("watcher", "viewer")

    async def until(predicate, what: str) -> None:
        deadline = time.monotonic() + 10
        while not predicate():
            assert time.monotonic() < deadline, what
            await asyncio.sleep(0.02)

    async def pushed_within(communicator, seconds: float) -> None:
        event_id = await database_sync_to_async(record)()
        await receive_until(
            communicator, lambda got: any(e["id"] == event_id for e in got), timeout=seconds
        )

    async def scenario() -> None:
        communicator, connected, _ = await connect(viewer)
        assert connected
        await communicator.receive_json_from(timeout=5)  # the snapshot
        listener = relay.listener
        assert listener is not None
        await until(listener.connected.is_set, "the relay never listened")
        lost_pid, good = listener.backend_pid, listener.params
        listener.params = {**good, "port": 1}  # it cannot reconnect until this is put back
        await database_sync_to_async(terminate)(lost_pid)
        await until(lambda: not listener.connected.is_set(), "the loss went unnoticed")
        await pushed_within(communicator, 2.0)  # by the 50 ms poll
        assert not listener.connected.is_set()

        listener.params = good
        await until(listener.connected.is_set, "it never listened again")
        assert listener.backend_pid not in (None, lost_pid)
        relay.poll_seconds = SLOW
        await asyncio.sleep(0.3)  # the read that follows connecting
        await pushed_within(communicator, 2.0)  # by a notification
        await communicator.disconnect()
        await relay.stop()

    asyncio.run(scenario())


def terminate(pid: int | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_the_listener_uses_a_connection_of_its_own():
    params = wakeups.connection_params()
    assert params["dbname"] == connection.settings_dict["NAME"]
    assert "cursor_factory" not in params
    assert "pool" not in params
