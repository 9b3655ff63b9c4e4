"""The dashboard's socket: staff only; a snapshot on connect, then the relay's events.

A reconnecting page passes the last event id it saw (`?since=ID`, or a first message
`{"type": "resume", "since": ID}`) and receives what it missed. Consumers never write.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard import relay, selectors

BACKLOG_LIMIT = 500
REFUSED = 4403


def _since(raw: Any) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


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
    relay: relay.Relay

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=REFUSED)
            return
        self.relay = relay.get_relay()
        await self.channel_layer.group_add(self.relay.group, self.channel_name)
        await self.accept()
        # Subscribe (which fixes where the relay starts) before reading the snapshot, so no
        # event falls between them; the page drops the duplicates by id.
        await self.relay.subscribe()
        query = parse_qs(self.scope.get("query_string", b"").decode())
        await self.send_json(
            await database_sync_to_async(snapshot)(_since((query.get("since") or [None])[0]))
        )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "resume":
            await self.send_json(
                await database_sync_to_async(snapshot)(_since(content.get("since")))
            )

    async def dashboard_events(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "events", "events": message["events"]})

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "relay"):
            await self.channel_layer.group_discard(self.relay.group, self.channel_name)
            self.relay.unsubscribe()
