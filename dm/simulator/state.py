"""What a simulated service remembers: conversations, deliveries, counters, pending replies.

Times are real wall-clock times (so a sender can compare them with when its attempt began);
only the *durations* of the rolling windows and of the reply delay shrink with the time scale.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

HOUR = 3600.0
DAY = 24 * HOUR

FRIENDLY_REPLIES = (
    "Thanks for reaching out! Would love to hear more.",
    "Hey, appreciate the message. What are you working on?",
    "Oh nice, thanks! Let's chat more this week.",
)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class SimMessage:
    id: str
    text: str
    outbound: bool
    time: datetime


@dataclass
class SimConversation:
    username: str
    thread_id: str
    display_name: str
    messages: list[SimMessage] = field(default_factory=list)
    unread: int = 0

    @property
    def last(self) -> SimMessage | None:
        return self.messages[-1] if self.messages else None


@dataclass
class Delivery:
    platform: str
    username: str
    text: str
    time: datetime
    post_url: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {
            "platform": self.platform,
            "username": self.username,
            "text": self.text,
            "time": iso(self.time),
        }
        if self.post_url is not None:
            out["post_url"] = self.post_url
        return out


class RollingCounter:
    """Sends over a rolling hour and a rolling day, with windows shortened by the time scale."""

    def __init__(self, *, hourly: int, daily: int, scale: float) -> None:
        self.hourly = hourly
        self.daily = daily
        self.scale = scale
        self._times: list[datetime] = []

    def add(self, now: datetime) -> None:
        self._times.append(now)

    def count(self, window: float, now: datetime) -> int:
        since = now - timedelta(seconds=window / self.scale)
        return sum(1 for moment in self._times if moment > since)

    def refusal(self, now: datetime) -> tuple[str, float] | None:
        """(reason, seconds until a slot frees) when a cap is reached, else None."""
        for label, window, cap in (("hourly", HOUR, self.hourly), ("daily", DAY, self.daily)):
            inside = [t for t in self._times if t > now - timedelta(seconds=window / self.scale)]
            if len(inside) >= cap:
                frees = inside[-cap] + timedelta(seconds=window / self.scale)
                return f"{label} limit of {cap} reached", max((frees - now).total_seconds(), 0)
        return None


class Inbox:
    """The conversations of one account, with the canned replies that are still on their way."""

    def __init__(self) -> None:
        self.conversations: dict[str, SimConversation] = {}
        self._pending: list[tuple[datetime, str, str]] = []
        self._ids = itertools.count(1)

    def conversation(self, username: str) -> SimConversation:
        if username not in self.conversations:
            number = next(self._ids)
            self.conversations[username] = SimConversation(
                username, f"t{number}", username.replace("_", " ").title()
            )
        return self.conversations[username]

    def add(self, username: str, text: str, *, outbound: bool, now: datetime) -> SimMessage:
        conversation = self.conversation(username)
        message = SimMessage(f"m{next(self._ids)}", text, outbound, now)
        conversation.messages.append(message)
        if not outbound:
            conversation.unread += 1
        return message

    def schedule_reply(self, username: str, text: str, at: datetime) -> None:
        self._pending.append((at, username, text))

    def flush(self, now: datetime) -> None:
        """Deliver the replies whose time has come (lazily: no timer threads to stop)."""
        due = [item for item in self._pending if item[0] <= now]
        self._pending = [item for item in self._pending if item[0] > now]
        for at, username, text in sorted(due):
            self.add(username, text, outbound=False, now=at)

    def by_thread(self, thread_id: str) -> SimConversation | None:
        return next((c for c in self.conversations.values() if c.thread_id == thread_id), None)
