"""The dashboard socket: the viewer role, a snapshot on connect, live events, resume from an id."""

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from dashboard import consumers
from dashboard import relay as relay_module
from dashboard.consumers import DashboardConsumer
from safari_auto.asgi import application
from scheduler import events
from scheduler.models import Event
from tests.conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_relay(monkeypatch):
    """A relay per test (each test runs its own event loop), polling fast."""
    relay = relay_module.Relay(poll_seconds=0.02)
    monkeypatch.setattr(relay_module, "_relay", relay)
    return relay


@pytest.fixture
def staff(db):
    """A viewer: the socket only reads."""
    return make_user("boss", "viewer")


def record(kind="task.created", message="", **kw):
    return events.record(kind, message=message, **kw).pk


async def connect(user, path="/ws/dashboard/"):
    communicator = WebsocketCommunicator(DashboardConsumer.as_asgi(), path)
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def receive_until(communicator, predicate, timeout=3.0):
    """Collect events from the socket until `predicate(events)` holds."""
    seen = []
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate(seen):
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"timed out; got {seen}"
        message = await communicator.receive_json_from(timeout=left)
        seen.extend(message.get("events", []))
    return seen


def test_an_anonymous_socket_is_refused():
    async def scenario():
        _, connected, code = await connect(AnonymousUser())
        assert not connected
        assert code == 4403

    asyncio.run(scenario())


def test_a_logged_in_user_without_a_role_is_refused_even_as_staff(db):
    user = get_user_model().objects.create_user(
        username="fan", password="fan-pass-123", is_staff=True
    )

    async def scenario():
        _, connected, _ = await connect(user)
        assert not connected

    asyncio.run(scenario())


def test_the_real_stack_refuses_a_socket_without_a_session():
    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/dashboard/", headers=[(b"origin", b"http://127.0.0.1:3010")]
        )
        connected, _ = await communicator.connect()
        assert not connected

    asyncio.run(scenario())


def test_the_real_stack_lets_a_staff_session_in(staff, client):
    client.force_login(staff)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def scenario():
        communicator = WebsocketCommunicator(
            application,
            "/ws/dashboard/",
            headers=[(b"origin", b"http://127.0.0.1:3010"), (b"cookie", cookie)],
        )
        connected, _ = await communicator.connect()
        assert connected
        snapshot = await communicator.receive_json_from(timeout=3)
        assert snapshot["type"] == "snapshot"
        await communicator.disconnect()

    asyncio.run(scenario())


def test_it_sends_a_snapshot_on_connect(staff):
    first = record(message="earlier work")

    async def scenario():
        communicator, connected, _ = await connect(staff)
        assert connected
        snapshot = await communicator.receive_json_from(timeout=3)
        assert snapshot["type"] == "snapshot"
        assert snapshot["lastEventId"] == first
        assert [e["message"] for e in snapshot["events"]] == ["earlier work"]
        assert snapshot["state"]["word"] in {"running", "paused", "stopped", "no dispatcher"}
        assert "tasksInQueue" in snapshot["state"]
        await communicator.disconnect()

    asyncio.run(scenario())


def test_a_new_event_reaches_the_socket_live(staff):
    async def scenario():
        communicator, _, _ = await connect(staff)
        await communicator.receive_json_from(timeout=3)
        made = await database_sync_to_async(record)("task.completed", "all done")
        got = await receive_until(communicator, lambda seen: any(e["id"] == made for e in seen))
        event = next(e for e in got if e["id"] == made)
        assert event["kind"] == "task.completed"
        assert event["message"] == "all done"
        assert event["ts"] > 0
        await communicator.disconnect()

    asyncio.run(scenario())


def test_two_sockets_each_get_an_event_once(staff):
    async def scenario():
        one, _, _ = await connect(staff)
        two, _, _ = await connect(staff)
        await one.receive_json_from(timeout=3)
        await two.receive_json_from(timeout=3)
        made = await database_sync_to_async(record)("task.failed", "broke")
        for socket in (one, two):
            got = await receive_until(socket, lambda seen: any(e["id"] == made for e in seen))
            assert [e["id"] for e in got].count(made) == 1
            assert await socket.receive_nothing(timeout=0.3)
        await one.disconnect()
        await two.disconnect()

    asyncio.run(scenario())


def test_a_reconnecting_page_gets_what_it_missed(staff):
    seen_last = record(message="seen before the drop")
    missed = [record(message=f"missed {n}") for n in range(3)]

    async def scenario():
        communicator, _, _ = await connect(staff, f"/ws/dashboard/?since={seen_last}")
        snapshot = await communicator.receive_json_from(timeout=3)
        assert [e["id"] for e in snapshot["events"]] == missed
        assert snapshot["resync"] is False
        # The same through a first message instead of the query string.
        await communicator.send_json_to({"type": "resume", "since": missed[0]})
        again = await communicator.receive_json_from(timeout=3)
        assert [e["id"] for e in again["events"]] == missed[1:]
        await communicator.disconnect()

    asyncio.run(scenario())


def test_too_much_missed_asks_the_page_to_reload_its_sections(staff, monkeypatch):
    from dashboard import consumers

    monkeypatch.setattr(consumers, "BACKLOG_LIMIT", 2)
    since = record()
    for _ in range(4):
        record()

    async def scenario():
        communicator, _, _ = await connect(staff, f"/ws/dashboard/?since={since}")
        snapshot = await communicator.receive_json_from(timeout=3)
        assert snapshot["resync"] is True
        assert len(snapshot["events"]) == 2
        await communicator.disconnect()

    asyncio.run(scenario())


def test_a_nonsense_since_is_treated_as_a_fresh_connect(staff):
    record(message="only one")

    async def scenario():
        communicator, _, _ = await connect(staff, "/ws/dashboard/?since=abc")
        snapshot = await communicator.receive_json_from(timeout=3)
        assert "resync" not in snapshot
        assert [e["message"] for e in snapshot["events"]] == ["only one"]
        await communicator.disconnect()

    asyncio.run(scenario())


def test_the_consumer_never_writes(staff):
    async def scenario():
        before = await database_sync_to_async(Event.objects.count)()
        communicator, _, _ = await connect(staff, "/ws/dashboard/?since=0")
        await communicator.receive_json_from(timeout=3)
        await communicator.send_json_to({"type": "resume", "since": 0})
        await communicator.receive_json_from(timeout=3)
        await communicator.disconnect()
        assert await database_sync_to_async(Event.objects.count)() == before

    asyncio.run(scenario())


def test_the_relay_picks_up_an_id_that_commits_late(fresh_relay):
    """Postgres can commit id 5 after id 6: the relay watches skipped ids for a while."""
    first = record()
    fresh_relay.last_id = first
    Event.objects.filter(pk=first).delete()
    kept = record()
    late = record()
    Event.objects.filter(pk=kept).delete()  # as if `kept` had not committed yet
    assert [e["id"] for e in fresh_relay.fetch()] == [late]
    assert kept in fresh_relay.gaps
    Event.objects.create(pk=kept, kind="task.created")  # it commits now
    assert [e["id"] for e in fresh_relay.fetch()] == [kept]
    assert kept not in fresh_relay.gaps


def test_the_relay_stops_when_nobody_listens(staff, fresh_relay):
    fresh_relay.idle_stop_seconds = 0.05

    async def scenario():
        communicator, _, _ = await connect(staff)
        await communicator.receive_json_from(timeout=3)
        assert fresh_relay.running
        await communicator.disconnect()
        for _ in range(100):
            if not fresh_relay.running:
                break
            await asyncio.sleep(0.02)
        assert not fresh_relay.running
        assert not fresh_relay.subscribers

    asyncio.run(scenario())


def test_events_reach_the_socket_without_a_trip_through_the_channel_layer(staff, monkeypatch):
    # The relay feeds only this process's sockets: a group send through channels-redis went
    # to Redis and back into this same process. With the layer broken, events still arrive
    # (before, the relay retried the failing group send for ever, and a socket whose read from
    # the layer failed died).
    layer = get_channel_layer()

    async def broken(*args, **kwargs):
        raise ConnectionError("the channel layer is down")

    for name in ("new_channel", "receive", "group_add", "group_send", "group_discard", "send"):
        monkeypatch.setattr(layer, name, broken)

    async def scenario():
        communicator, _, _ = await connect(staff)
        await communicator.receive_json_from(timeout=3)
        made = await database_sync_to_async(record)("task.completed", "direct")
        got = await receive_until(communicator, lambda seen: any(e["id"] == made for e in seen))
        assert [e["id"] for e in got].count(made) == 1
        await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.skipif(
    "redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"],
    reason="channels-redis only (REDIS_URL)",
)
def test_an_idle_socket_on_channels_redis_stays_open(staff):
    # A socket that read from its channels-redis channel, where nothing is ever sent, died
    # with redis-py's "Timeout reading from 127.0.0.1:6379" after ~5 s, and the page
    # reconnected: a second of delay for the events around it, seen in `bench dashboard`.
    async def scenario():
        communicator, _, _ = await connect(staff)
        await communicator.receive_json_from(timeout=3)
        await asyncio.sleep(8)
        made = await database_sync_to_async(record)("task.completed", "after a quiet spell")
        got = await receive_until(communicator, lambda seen: any(e["id"] == made for e in seen))
        assert [e["id"] for e in got].count(made) == 1
        await communicator.disconnect()

    asyncio.run(scenario())


def test_events_delivered_while_the_snapshot_is_read_follow_it(staff, monkeypatch):
    real_snapshot = consumers.snapshot
    made = []

    def slow_snapshot(since):
        answer = real_snapshot(since)
        made.append(record("task.completed", "during the snapshot"))
        time.sleep(0.5)  # the relay delivers it meanwhile
        return answer

    monkeypatch.setattr(consumers, "snapshot", slow_snapshot)

    async def scenario():
        communicator, _, _ = await connect(staff)
        first = await communicator.receive_json_from(timeout=3)
        assert first["type"] == "snapshot"
        assert made[0] not in [e["id"] for e in first["events"]]
        got = await receive_until(communicator, lambda seen: any(e["id"] == made[0] for e in seen))
        assert [e["id"] for e in got].count(made[0]) == 1
        await communicator.disconnect()

    asyncio.run(scenario())


def test_a_subscriber_whose_delivery_fails_costs_the_others_nothing(fresh_relay):
    got = []

    async def broken(batch):
        raise RuntimeError("socket gone")

    async def working(batch):
        got.extend(batch)

    async def scenario():
        await fresh_relay.subscribe("broken", broken)
        await fresh_relay.subscribe("working", working)
        made = [await database_sync_to_async(record)(message=f"n{n}") for n in range(2)]
        deadline = asyncio.get_running_loop().time() + 3
        while {e["id"] for e in got} != set(made):
            assert asyncio.get_running_loop().time() < deadline, f"got {got}"
            await asyncio.sleep(0.02)
        assert fresh_relay.running
        await fresh_relay.stop()

    asyncio.run(scenario())
