"""Parse a POST /api/sync/dm payload into plain dataclasses (pure; fast for 5,000 messages).

Errors name the exact place: `conversations[3].messages[2].sent_at: ...`.

Two statements a caller can make beyond the old client's payload (crm/sync.py acts on them):
- `"sent_at": null` on a message: the service gave no usable time (X none, Instagram "" or
  "2h", TikTok the time of the read). Such a message is matched by content and order within
  the conversation, never by the time of the read. A missing `sent_at` is still an error.
- `"shown_name": true` on a conversation: `username` is the name the service's list showed,
  maybe a display name. It is matched to a known handle and never becomes one (crm/identity.py).
  A username that cannot be a handle (a space, a character no platform allows) is treated so
  without the flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm.models import Direction, Message, Platform, PlatformAccount, handle_key
from crm.text import text_key
from safari_auto.bounds import time_problem
from safari_auto.times import parse_iso

MAX_CONVERSATIONS = 500
MAX_USERNAME = PlatformAccount._meta.get_field("username").max_length or 150
MAX_DISPLAY_NAME = PlatformAccount._meta.get_field("display_name").max_length or 200
MAX_SERVICE_ID = Message._meta.get_field("service_id").max_length or 200
# What a handle on Instagram, Threads, TikTok and X can be spelled with.
HANDLE = re.compile(r"[A-Za-z0-9_.]+")
SPELLED_HANDLES = frozenset({"instagram", "threads", "tiktok", "twitter"})


def could_be_handle(platform: str, username: str) -> bool:
    """False for a name no handle of the platform can be ("Maya Builds" on TikTok); other
    platforms (email, linkedin, ...) spell identities freely."""
    return platform not in SPELLED_HANDLES or bool(HANDLE.fullmatch(username.strip().lstrip("@")))


class SyncInputError(ValueError):
    """A sync payload that breaks the CRM API's contract (answered with a 400)."""


@dataclass
class InMessage:
    text: str
    direction: str
    sent_at: datetime | None  # None: no usable time; matched by content and order
    service_id: str | None
    key: str


@dataclass
class InConversation:
    username: str
    key: str
    display_name: str | None
    messages: list[InMessage] = field(default_factory=list)
    shown: bool = False  # `username` is a name the list showed, maybe not a handle


def _read_time(value: Any) -> datetime | None:
    try:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            return parse_iso(value, assume=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = value / 1000 if value > 10**11 else value  # milliseconds or seconds
            return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def parse_time(value: Any, where: str) -> datetime:
    """An aware time within sane years (ISO 8601, or epoch seconds or milliseconds)."""
    moment = _read_time(value)
    if moment is None:
        raise SyncInputError(f"{where}: {value!r} is not an ISO 8601 time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        problem = time_problem(moment.astimezone(UTC))
    except OverflowError:
        problem = "is out of range"
    if problem:
        raise SyncInputError(f"{where}: {problem}")
    return moment


def _bounded(value: Any, limit: int, where: str) -> str:
    text = str(value)
    if len(text) > limit:
        raise SyncInputError(f"{where}: at most {limit} characters")
    return text


def parse_direction(raw: dict[str, Any], where: str) -> str:
    direction = raw.get("direction")
    if direction in (Direction.INBOUND, Direction.OUTBOUND):
        return str(direction)
    if direction is not None:
        raise SyncInputError(f"{where}.direction: must be 'inbound' or 'outbound'")
    outbound = raw.get("is_outbound", raw.get("isOutbound"))
    if isinstance(outbound, bool):
        return Direction.OUTBOUND if outbound else Direction.INBOUND
    raise SyncInputError(f"{where}: give direction ('inbound'|'outbound') or is_outbound")


def parse_message(raw: Any, where: str) -> InMessage:
    if not isinstance(raw, dict):
        raise SyncInputError(f"{where}: must be an object")
    text = raw.get("text")
    if not isinstance(text, str):
        raise SyncInputError(f"{where}.text: required, a string")
    named = next((k for k in ("sent_at", "sentAt", "timestamp") if k in raw), None)
    sent = raw[named] if named else None
    if named is None:
        raise SyncInputError(f"{where}.sent_at: required (null when the service gave no time)")
    if sent == "":  # Instagram's "no time"
        sent = None
    service_id = raw.get("id", raw.get("service_id"))
    if service_id not in (None, ""):
        service_id = _bounded(service_id, MAX_SERVICE_ID, f"{where}.id")
    return InMessage(
        text=text,
        direction=parse_direction(raw, where),
        sent_at=None if sent is None else parse_time(sent, f"{where}.sent_at"),
        service_id=service_id or None,
        key=text_key(text),
    )


def parse_sync(payload: Any) -> tuple[str, list[InConversation]]:
    """(platform, conversations); the same username twice is merged into one conversation."""
    if not isinstance(payload, dict):
        raise SyncInputError("body: must be a JSON object")
    platform = payload.get("platform")
    if platform not in Platform.values:
        raise SyncInputError(
            f"platform: {platform!r} is not a platform ({', '.join(Platform.values)})"
        )
    raw_conversations = payload.get("conversations")
    if not isinstance(raw_conversations, list):
        raise SyncInputError("conversations: required, a list")
    if len(raw_conversations) > MAX_CONVERSATIONS:
        raise SyncInputError(
            f"conversations: at most {MAX_CONVERSATIONS} a request, got {len(raw_conversations)};"
            " send them in batches"
        )
    merged: dict[str, InConversation] = {}
    for i, raw in enumerate(raw_conversations):
        where = f"conversations[{i}]"
        if not isinstance(raw, dict):
            raise SyncInputError(f"{where}: must be an object")
        username = raw.get("username")
        if isinstance(username, int) and not isinstance(username, bool):
            username = str(username)
        username = username.strip().lstrip("@") if isinstance(username, str) else ""
        if not username:
            raise SyncInputError(f"{where}.username: required, a string")
        _bounded(username, MAX_USERNAME, f"{where}.username")
        messages = raw.get("messages") or []
        if not isinstance(messages, list):
            raise SyncInputError(f"{where}.messages: must be a list")
        display_name = raw.get("display_name") or raw.get("displayName")
        conversation = merged.setdefault(
            handle_key(username),
            InConversation(username=username, key=handle_key(username), display_name=None),
        )
        if isinstance(display_name, str) and display_name.strip():
            name = _bounded(display_name.strip(), MAX_DISPLAY_NAME, f"{where}.display_name")
            conversation.display_name = name
        if raw.get("shown_name") is True or not could_be_handle(str(platform), username):
            conversation.shown = True
        conversation.messages += [
            parse_message(m, f"{where}.messages[{j}]") for j, m in enumerate(messages)
        ]
    return str(platform), list(merged.values())
