"""The normalised shapes the clients hand back, whatever the platform's own field names."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict


class Health(TypedDict):
    ok: bool
    detail: str
    raw: dict[str, Any]


class SessionStatus(TypedDict):
    logged_in: bool
    on_platform: bool
    current_url: str


class Conversation(TypedDict):
    username: str
    display_name: str
    last_message: str
    last_message_at: datetime | None
    unread: int
    thread_id: str | None


class Message(TypedDict):
    text: str
    is_outbound: bool
    sent_at: datetime | None
    id: str | None


class Candidate(TypedDict):
    username: str
    display_name: str
    score: float | None
    signals: list[Any]
    qualifies: bool
    source: str
    raw: dict[str, Any]
