"""Inbox sync, write side: the conversations read (dm/syncing.py) go to the CRM, idempotent on
its side and keyed by handle, and each reply the CRM stored for the first time is announced to
the dashboard's inbox once, however often the inbox is read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from crm.client import CrmError, get_client
from dm import syncing
from dm.clients import UnifiedDMClient
from safari_auto.http import ServiceError
from scheduler.errors import TaskError

ANNOUNCED = 20  # the newest replies announced per sync; older ones are only in the CRM


class Announcer(Protocol):
    def event(self, kind: str, message: str = "", **data: Any) -> None: ...


def inbox_sync(
    attempt: Announcer,
    *,
    client: UnifiedDMClient,
    platform: str,
    most: int,
    check_cancelled: Callable[[], None],
) -> dict[str, Any]:
    """Pull up to `most` conversations and their messages into the CRM; the sync's summary."""
    try:
        payload, unread = syncing.inbox_read(
            client, platform, most=most, check_cancelled=check_cancelled
        )
    except ServiceError as exc:
        raise TaskError(f"sync could not read {platform}: {exc}", permanent=False) from exc
    if payload and len(unread) == len(payload):
        raise TaskError(f"sync could not read any {platform} conversation", permanent=False)
    try:
        counts = get_client().sync_dm(platform=platform, conversations=payload)
    except CrmError as exc:
        raise TaskError(f"the CRM refused the sync: {exc}", permanent=exc.permanent) from exc
    replies = list(counts.get("new_replies") or [])
    _announce_replies(attempt, platform, replies)
    return {
        "conversations": len(payload),
        "newReplies": len(replies),
        "unreadable": unread[:20],
        **{k: v for k, v in counts.items() if k not in ("synced", "new_replies")},
    }


def _announce_replies(attempt: Announcer, platform: str, replies: list[dict[str, Any]]) -> None:
    """One `dm.reply_received` event per reply the CRM stored for the first time (the newest
    ANNOUNCED); a name-only sender is shown by name, never with an @."""
    for reply in sorted(replies, key=lambda r: str(r.get("sent_at")))[-ANNOUNCED:]:
        name = str(reply.get("username") or "")
        who = name if reply.get("display_only") else f"@{name}"
        attempt.event(
            "dm.reply_received",
            f"{platform} {who}: {str(reply.get('text'))[:200]}",
            platform=platform,
            username=name,
            displayOnly=bool(reply.get("display_only")),
            text=str(reply.get("text") or "")[:500],
            at=reply.get("sent_at"),
            contactId=reply.get("contact_id"),
        )
