"""Clients for the three DM services (Instagram :3001, TikTok :3002, X :3003).

Each class only knows its service's routes and field names (CONTRACTS.md "DM services") and
returns the shapes in `types.py`; sends come back as a `SendResult`. The routes differ more
than the answers, so the shared reading lives in `DMClient` and the subclasses are mostly
paths.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings

from safari_auto.http import ServiceError

from .base import ServiceClient, service_url
from .results import SendResult, parse_time
from .types import Candidate, Conversation, Health, Message, SessionStatus


class DMClient(ServiceClient):
    """The routes every DM service has, read the same way."""

    status_path = ""
    on_platform_key = ""
    rate_limits_path = ""
    conversations_path = ""
    send_path = ""
    open_path = ""
    messages_path = ""
    discover_path = ""
    # Whether reading a conversation back can prove anything (X's reads never work).
    can_verify = True

    def health(self) -> Health:
        """Liveness: never raises, since a dead service is an answer for a probe."""
        try:
            answer = self._call("GET", "/health", kind="status")
        except ServiceError as exc:
            return {"ok": False, "detail": str(exc), "raw": {}}
        body = answer.body if isinstance(answer.body, dict) else {}
        ok = answer.ok and body.get("status") == "ok"
        return {"ok": ok, "detail": "ok" if ok else f"HTTP {answer.status}", "raw": body}

    def status(self) -> SessionStatus:
        body = self.read("GET", self.status_path, kind="status")
        return {
            "logged_in": bool(body.get("isLoggedIn")),
            "on_platform": bool(body.get(self.on_platform_key)),
            "current_url": str(body.get("currentUrl") or ""),
        }

    def rate_limits(self) -> dict[str, Any]:
        return self.read("GET", self.rate_limits_path)

    def conversations(self) -> list[Conversation]:
        body = self.read("GET", self.conversations_path)
        return [_conversation(item) for item in body.get("conversations") or []]

    def messages(self, username: str, limit: int = 20) -> list[Message]:
        """Open the conversation in Safari, then read its newest messages. When the service
        could not open it (200 `success:false`), nothing is read: the tab would show whichever
        thread was open before."""
        read = self.thread_read(username, limit)
        return read if read is not None else []

    def thread_read(self, username: str, limit: int = 20) -> list[Message] | None:
        """The conversation's newest messages when the read is trustworthy (the service opened
        *this* conversation); None when it says it could not. Raises ServiceError."""
        opened = self.read("POST", self.open_path, json={"username": username})
        if opened.get("success") is False:
            return None
        shown = opened.get("username")
        if isinstance(shown, str) and shown and shown.lstrip("@") != username:
            return None
        body = self.read("GET", self.messages_path, params={"limit": limit})
        return [_message(item) for item in body.get("messages") or []]

    def wait_idle(self, bound: float, *, pause: float = 0.2) -> bool:
        """Wait until the service answers a status call (it does once its Safari tab is free
        of a send), at most `bound` seconds. False: still busy at the bound, or down (a refused
        connection: it may have crashed mid-send, so nothing it could read would be proof)."""
        deadline = time.monotonic() + bound
        while True:
            try:
                self._call("GET", self.status_path, kind="status")
                return True
            except ServiceError as exc:
                if not exc.request_left or time.monotonic() + pause >= deadline:
                    return False
                time.sleep(pause)

    def send(self, username: str, text: str) -> SendResult:
        return self.post_send(self.send_path, {"username": username, "text": text})

    def discover(self, **criteria: Any) -> list[Candidate]:
        """Candidates in one shape. Where the service does not say whether one qualifies (X
        and Instagram), its score decides against `minScore`, else DISCOVERY_MIN_SCORE."""
        sent = _camel_case(criteria)
        body = self.read("POST", self.discover_path, json=sent)
        threshold = _number(sent.get("minScore"))
        if threshold is None:
            threshold = float(settings.DISCOVERY_MIN_SCORE)
        return [
            _candidate(item, self.platform, threshold)
            for item in body.get("candidates") or []
            if isinstance(item, dict)
        ]


class InstagramDMClient(DMClient):
    platform, key = "instagram", "instagram_dm"
    status_path = "/api/status"
    on_platform_key = "isOnInstagram"
    rate_limits_path = "/api/rate-limits"
    conversations_path = "/api/conversations"
    send_path = "/api/messages/send-to"
    open_path = "/api/conversations/open"
    messages_path = "/api/messages"
    discover_path = "/api/prospect/discover"

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None) -> None:
        super().__init__(base_url or service_url("instagram_dm"), timeout=timeout)

    def send_to_thread(self, thread_id: str, text: str) -> SendResult:
        return self.post_send("/api/messages/send-to-thread", {"threadId": thread_id, "text": text})


class TikTokDMClient(DMClient):
    platform, key = "tiktok", "tiktok_dm"
    status_path = "/api/tiktok/status"
    on_platform_key = "isOnTikTok"
    rate_limits_path = "/api/tiktok/rate-limits"
    conversations_path = "/api/tiktok/conversations"
    send_path = "/api/tiktok/messages/send-to"
    messages_path = "/api/tiktok/messages"
    discover_path = "/api/prospect/discover"

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None) -> None:
        super().__init__(base_url or service_url("tiktok_dm"), timeout=timeout)

    def thread_read(self, username: str, limit: int = 50) -> list[Message] | None:
        """TikTok reads a conversation by id (the username) without opening it first. Its
        times are the time of the read and its ids positions: only texts and order count."""
        body = self.read(
            "GET", self.messages_path, params={"conversationId": username, "limit": limit}
        )
        return [_message(item) for item in body.get("messages") or []]


class TwitterDMClient(DMClient):
    platform, key = "twitter", "twitter_dm"
    can_verify = False  # its message-reading and conversation-opening snippets always fail
    status_path = "/api/twitter/status"
    on_platform_key = "isOnTwitter"
    rate_limits_path = "/api/twitter/rate-limits"
    conversations_path = "/api/twitter/conversations"
    send_path = "/api/twitter/messages/send-to"
    open_path = "/api/twitter/conversations/open"
    messages_path = "/api/twitter/messages"
    discover_path = "/api/twitter/prospect/discover"

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None) -> None:
        super().__init__(base_url or service_url("twitter_dm"), timeout=timeout)

    def rate_limits(self) -> dict[str, Any]:
        """X splits its limits in two routes; `status` carries {limited, suspended, message}."""
        limits = self.read("GET", self.rate_limits_path)
        return {**limits, "status": self.read("GET", "/api/twitter/rate-status")}

    def send(self, username: str, text: str) -> SendResult:
        """X verifies the text and the recipient separately; both must hold to be verified."""
        return self.post_send(
            self.send_path,
            {"username": username, "text": text},
            verified_of=_x_verified,
        )


def _x_verified(body: dict[str, Any]) -> bool | None:
    """`verified` is a flag; `verifiedRecipient` is the conversation's header text (a string,
    empty when no recipient was seen), a boolean only in older answers."""
    flags = [body.get(key) for key in ("verified", "verifiedRecipient") if key in body]
    return (
        all(flag is True or (isinstance(flag, str) and bool(flag.strip())) for flag in flags)
        if flags
        else None
    )


def _conversation(item: dict[str, Any]) -> Conversation:
    unread = item.get("unreadCount", item.get("unread", 0))
    thread_id = item.get("threadId")
    return {
        "username": str(item.get("username") or ""),
        "display_name": str(item.get("displayName") or item.get("username") or ""),
        "last_message": str(item.get("lastMessage") or ""),
        "last_message_at": parse_time(item.get("lastMessageAt") or item.get("timestamp")),
        "unread": int(unread) if isinstance(unread, int | float) else 0,
        "thread_id": str(thread_id) if thread_id else None,
    }


def _message(item: dict[str, Any]) -> Message:
    """Instagram and X say `isOutbound`; TikTok says `isOwn` and `from: "me"|"them"`."""
    if "isOutbound" in item:
        outbound = bool(item["isOutbound"])
    elif "isOwn" in item:
        outbound = bool(item["isOwn"])
    else:
        outbound = item.get("from") == "me"
    message_id = item.get("id")
    return {
        "text": str(item.get("text") or ""),
        "is_outbound": outbound,
        "sent_at": parse_time(item.get("timestamp")),
        "id": str(message_id) if message_id is not None else None,
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _candidate(item: dict[str, Any], platform: str, threshold: float) -> Candidate:
    """TikTok sends `displayName, score, signals, qualifies`; X and Instagram send
    `fullName, icpScore, icpSignals` and no `qualifies`. A candidate without a score and
    without the service's word does not qualify."""
    score = _number(item.get("icpScore", item.get("score")))
    signals = item.get("icpSignals", item.get("signals"))
    said = item.get("qualifies")
    by_score = score is not None and score >= threshold
    qualifies = said if isinstance(said, bool) else by_score
    name = item.get("displayName") or item.get("fullName") or item.get("username")
    return {
        "username": str(item.get("username") or ""),
        "display_name": str(name or ""),
        "score": score,
        "signals": list(signals) if isinstance(signals, list) else [],
        "qualifies": qualifies,
        "source": str(item.get("source") or platform),
        "raw": item,
    }


# The services spell these acronyms in capitals: `checkCRM`, not `checkCrm`.
_ACRONYM = re.compile(r"(Crm|Icp)(?=[A-Z]|$)")


def _camel_case(criteria: dict[str, Any]) -> dict[str, Any]:
    """`min_followers=` becomes `minFollowers`, `check_crm=` (or `checkCrm`) `checkCRM`:
    Python callers, JavaScript services."""
    out: dict[str, Any] = {}
    for key, value in criteria.items():
        head, *rest = key.split("_")
        name = head + "".join(part.title() for part in rest)
        out[_ACRONYM.sub(lambda match: match.group(1).upper(), name)] = value
    return out
