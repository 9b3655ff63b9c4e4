"""The dashboard's socket: the viewer role (or operator); a snapshot on connect, then the
relay's events, which the relay hands to `deliver` in this process (no channel layer between).
Events the relay delivers before the snapshot is out wait for it, so the page always gets the
snapshot first.

A reconnecting page passes the last event id it saw (`?since=ID`, or a message
`{"type": "resume", "since": ID}`) and receives what it missed. Consumers never write.
Anything else the page sends (not JSON, not an object, an unknown type, a bad id) is answered
with `{"type": "error", "error": …}` and the socket stays open. However the consumer ends
(closed, refused, crashed), it leaves the relay, so a dead socket never keeps it polling.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard import relay, selectors
from safari_auto.roles import can_read

BACKLOG_LIMIT = 500
REFUSED = 4403


def _since(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 <= value < 2**63 else None


def snapshot(since: int | None) -> dict[str, Any]:
    """The state, and the events after `since` (or the recent ones when it is None)."""
    last = selectors.latest_event_id()
    snapshot: dict[str, Any] = {
        "type": "snapshot",
        "lastEventId": last,
        "state": selectors.jsonable(selectors.dashboard_state()),
    }
    if since is None:
        snapshot["events"] = [selectors.event_json(e) for e in reversed(selectors.recent_events())]
        return snapshot
    missed = list(selectors.events_since(since=since, limit=BACKLOG_LIMIT + 1))
    snapshot["resync"] = len(missed) > BACKLOG_LIMIT  # too much missed: reload the sections
    snapshot["events"] = [selectors.event_json(e) for e in missed[:BACKLOG_LIMIT]]
    return snapshot


class DashboardConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    # No channel layer: the relay delivers in this process. With one, each socket also sat in
    # a blocking read on channels-redis that nothing ever writes to, and redis-py ended that
    # read with a TimeoutError after ~5 s, which killed the consumer and closed the socket.
    channel_layer_alias = "dashboard: no channel layer"  # not in CHANNEL_LAYERS: None
    relay: relay.Relay | None = None
    subscriber = ""
    # Events delivered before the snapshot went out (None once it has).
    held: list[dict[str, Any]] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._leave()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(can_read)(user):
            await self.close(code=REFUSED)
            return
        self.relay = relay.get_relay()
        await self.accept()
        # Subscribe (which fixes where the relay starts) before reading the snapshot, so no
        # event falls between them; the page drops the duplicates by id.
        self.held = []
        self.subscriber = f"socket-{uuid.uuid4().hex}"
        await self.relay.subscribe(self.subscriber, self.deliver)
        query = parse_qs(self.scope.get("query_string", b"").decode(errors="replace"))
        await self.send_json(
            await database_sync_to_async(snapshot)(_since((query.get("since") or [None])[0]))
        )
        held, self.held = self.held, None
        if held:
            await self.deliver(held)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self._error("send JSON text frames, not binary ones")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self._error("not JSON")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "resume":
            await self._error('expected {"type": "resume", "since": <event id>}')
            return
        since = _since(content.get("since"))
        if content.get("since") is not None and since is None:
            await self._error("since must be an event id (a whole number, 0 or more)")
            return
        await self.send_json(await database_sync_to_async(snapshot)(since))

    async def _error(self, text: str) -> None:
        await self.send_json({"type": "error", "error": text})

    async def deliver(self, events: list[dict[str, Any]]) -> None:
        """The relay's new events, to this socket (held until the snapshot is out)."""
        if self.held is not None:
            self.held.extend(events)
            return
        await self.send_json({"type": "events", "events": events})

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _leave(self) -> None:
        """Leave the relay; safe to call more than once."""
        joined, self.relay = self.relay, None
        if joined is None:
            return
        joined.unsubscribe(self.subscriber)
