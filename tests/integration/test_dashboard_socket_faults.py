"""The dashboard socket under bad input and failure: it answers, it never leaks a relay
subscriber, and the relay stops polling once nobody listens."""

import asyncio
import threading

import pytest
from channels.testing import WebsocketCommunicator

from dashboard import consumers
from dashboard import relay as relay_module
from dashboard.consumers import DashboardConsumer
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_relay(monkeypatch):
    # Reading every 10 ms on Postgres too (where notifications would make it read rarely):
    # these tests count reads.
    relay = relay_module.Relay(poll_seconds=0.01, idle_stop_seconds=0.0, safety_poll_seconds=0.01)
    monkeypatch.setattr(relay_module, "_relay", relay)
    return relay


@pytest.fixture
def viewer_user(db):
    return make_user("watcher", "viewer")


async def _open(user):
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _ignore(batch):
    pass


async def _until(predicate, timeout=2.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    "frame",
    [
        {"text_data": "not json {"},
        {"text_data": "[1, 2]"},
        {"text_data": '"resume"'},
        {"text_data": '{"type": "shout"}'},
        {"text_data": '{"type": "resume", "since": "abc"}'},
        {"text_data": '{"type": "resume", "since": -4}'},
        {"text_data": '{"type": "resume", "since": 1e400}'},
        {"bytes_data": b"\x00\x01"},
    ],
)
def test_a_malformed_frame_gets_an_error_and_the_socket_stays_usable(viewer_user, frame):
    async def scenario():
        communicator = await _open(viewer_user)
        await communicator.receive_json_from(timeout=3)  # the snapshot
        if "bytes_data" in frame:
            await communicator.send_to(bytes_data=frame["bytes_data"])
        else:
            await communicator.send_to(text_data=frame["text_data"])
        answer = await communicator.receive_json_from(timeout=3)
        assert answer["type"] == "error"
        assert answer["error"]
        await communicator.send_json_to({"type": "resume", "since": 0})
        again = await communicator.receive_json_from(timeout=3)
        assert again["type"] == "snapshot"
        await communicator.disconnect()

    asyncio.run(scenario())


def test_a_consumer_that_fails_still_leaves_the_relay(viewer_user, fresh_relay, monkeypatch):
    def broken_snapshot(since):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(consumers, "snapshot", broken_snapshot)

    async def scenario():
        communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), "/ws/dashboard/")
        communicator.scope["user"] = viewer_user
        await communicator.connect()
        with pytest.raises(RuntimeError):
            await communicator.receive_output(timeout=3)
        assert not fresh_relay.subscribers
        await _until(lambda: not fresh_relay.running)

    asyncio.run(scenario())


def test_a_closed_socket_leaves_the_relay_once(viewer_user, fresh_relay):
    async def scenario():
        one = await _open(viewer_user)
        two = await _open(viewer_user)
        assert len(fresh_relay.subscribers) == 2
        await one.disconnect()
        await one.disconnect()  # a second close changes nothing
        assert len(fresh_relay.subscribers) == 1
        await two.disconnect()
        assert not fresh_relay.subscribers

    asyncio.run(scenario())


def test_the_relay_stops_polling_when_the_last_subscriber_leaves(fresh_relay, monkeypatch):
    polls = []
    real_fetch = fresh_relay.fetch
    monkeypatch.setattr(fresh_relay, "fetch", lambda: polls.append(1) or real_fetch())

    async def scenario():
        await fresh_relay.subscribe("a", _ignore)
        await fresh_relay.subscribe("b", _ignore)
        await _until(lambda: len(polls) > 3)
        threads = set(fresh_relay._executor._threads)
        assert threads
        fresh_relay.unsubscribe("a")
        seen = len(polls)
        await _until(lambda: len(polls) > seen + 3)  # one left: still polling
        assert fresh_relay.running
        fresh_relay.unsubscribe("b")
        await _until(lambda: not fresh_relay.running)
        await _until(lambda: not any(t.is_alive() for t in threads))
        stopped_at = len(polls)
        await asyncio.sleep(0.2)
        assert len(polls) == stopped_at  # no query any more
        assert fresh_relay._task is None
        assert not [t for t in threading.enumerate() if t in threads]

    asyncio.run(scenario())
