"""Simulated DM services for Instagram, TikTok and X, serving CONTRACTS.md "DM services".

Usernames starting with `nouser` do not exist: Instagram answers 404, X `success:false`, and
TikTok 400 `identity_mismatch`. TikTok remembers whom it messaged and refuses a second cold
send with 400 `already_messaged`.

With the `real` profile (CONTRACTS.md "How the real services behave"):
- conversation lists carry the display name in `username` ("Maya Builds", not `maya_builds`);
- status reads Safari's front document: every call that drives a service's tab brings it to
  the front of the one `FrontTab` the DM simulators of a process share, and X (always) and
  Instagram (until one of its own routes pinned its tab) then answer `isOn<Platform>:false,
  isLoggedIn:false` with the other site's URL. `POST /_sim/config {"front_url": ...}` sets
  the front document directly (null: each service's own page).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import timedelta
from typing import Any

from . import discovery
from .server import DROP, Reply, Request
from .service import Route, SimService, error, ok
from .state import SimConversation, SimMessage, iso

DEMO_CONTACTS = ("maya_builds", "leo.creates", "sam_ships")


def missing(username: str) -> bool:
    return not username or username.startswith("nouser")


class FrontTab:
    """Safari's front document: one per Safari, so one per simulate process. None means no
    service has driven a tab yet (each status then sees its own page)."""

    def __init__(self) -> None:
        self.url: str | None = None


# Routes that only read the front document or counters; every other /api route drives the tab.
_TAB_NEUTRAL = ("/status", "/rate-limits", "/rate-status")


class DMSim(SimService, ABC):
    """What the three DM services share: conversations, sends, limits and discovery."""

    segment = ""  # "" for Instagram's /api/..., "tiktok" or "twitter" otherwise
    on_platform_key = ""
    home_url = ""
    min_delay_ms = 60_000
    max_delay_ms = 300_000
    # Status reads Safari's front document: X always; Instagram until one of its routes
    # pinned its tab ("unpinned"); TikTok never ("").
    status_reads_front = ""

    def __init__(self, *, front_tab: FrontTab | None = None, **options: Any) -> None:
        self.front = front_tab or FrontTab()
        super().__init__(**options)

    def reset(self) -> None:
        self.open_username: str | None = None
        self.pinned = False
        self.front.url = None
        super().reset()

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/api/") and not request.path.endswith(_TAB_NEUTRAL):
            self.front.url = self.home_url + ("messages" if self.segment else "direct/inbox/")
            self.pinned = True
        return super().handle(request)

    def _configure(self, body: Any) -> Reply:
        if isinstance(body, dict) and "front_url" in body:
            self.front.url = str(body.pop("front_url") or "") or None
            if not body:
                return ok({"front_url": self.front.url})
        return super()._configure(body)

    def find_conversation(self, name: str) -> SimConversation | None:
        """By handle, or by the display name the list showed (as TikTok's conversationId)."""
        found = self.inbox.conversations.get(name)
        if found is None:
            wanted = name.strip().casefold()
            found = next(
                (
                    c
                    for c in self.inbox.conversations.values()
                    if c.display_name.casefold() == wanted
                ),
                None,
            )
        return found

    def shown_name(self, conversation: SimConversation) -> str:
        """What the list's `username` carries: the display name on the real services."""
        return conversation.display_name if self.profile == "real" else conversation.username

    def api(self, path: str) -> str:
        return f"/api/{self.segment}/{path}" if self.segment else f"/api/{path}"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("GET", self.api("status")): self.status,
            ("GET", self.api("rate-limits")): self.rate_limits,
            ("GET", self.api("conversations")): self.conversations,
            ("POST", self.api("messages/send-to")): self.send_to,
        }

    def seed(self) -> None:
        earlier = self.now() - timedelta(hours=3)
        for number, username in enumerate(DEMO_CONTACTS):
            text = f"Hi! Loved your last post ({self.platform}). How do you plan content?"
            self.inbox.add(username, text, outbound=False, now=earlier + timedelta(minutes=number))

    # --- reads ----------------------------------------------------------------------------
    def front_elsewhere(self) -> str | None:
        """The other site's URL when status would read a front document that is not ours."""
        if self.profile != "real" or not self.status_reads_front or self.front.url is None:
            return None
        if self.pinned and self.status_reads_front == "unpinned":
            return None
        return None if self.front.url.startswith(self.home_url) else self.front.url

    def status(self, request: Request) -> Reply:
        elsewhere = self.front_elsewhere()
        if elsewhere is not None:
            return ok({self.on_platform_key: False, "isLoggedIn": False, "currentUrl": elsewhere})
        problem = self.faults.session_problem()
        url = self.home_url + ("challenge/" if problem == "captcha" else "direct/inbox/")
        return ok(
            {
                self.on_platform_key: True,  # the login page is on the site too
                "isLoggedIn": problem != "logged_out",
                "currentUrl": self.home_url + "accounts/login/" if problem == "logged_out" else url,
            }
        )

    def limits_body(self) -> dict[str, Any]:
        hour, day = self.counts()
        return {
            "messagesSentToday": day,
            "messagesSentThisHour": hour,
            "limits": {
                "messagesPerHour": self.counter.hourly,
                "messagesPerDay": self.counter.daily,
                "minDelayMs": self.min_delay_ms,
                "maxDelayMs": self.max_delay_ms,
                "activeHours": {"start": 9, "end": 21},
            },
        }

    def rate_limits(self, request: Request) -> Reply:
        return ok(self.limits_body())

    def conversation_item(self, conversation: SimConversation) -> dict[str, Any]:
        last = conversation.last
        return {
            "username": self.shown_name(conversation),
            "threadId": conversation.thread_id,
            "displayName": conversation.display_name,
            "lastMessage": last.text if last else "",
            "lastMessageAt": iso(last.time) if last else None,
            "unreadCount": conversation.unread,
        }

    def conversations(self, request: Request) -> Reply:
        items = [self.conversation_item(c) for c in self.inbox.conversations.values()]
        return ok({"conversations": items, "count": len(items)})

    def open_conversation(self, request: Request) -> Reply:
        username = str((request.body or {}).get("username") or "")
        if missing(username):
            return error(404, f"Could not open a conversation with {username!r}")
        found = self.find_conversation(username)  # the list's shown name opens it too
        conversation = found or self.inbox.conversation(username)
        conversation.unread = 0
        self.open_username = conversation.username
        return ok({"success": True, "username": username})

    def open_messages(self, request: Request) -> Reply:
        """Messages of the conversation opened last (the Safari tab shows one at a time)."""
        username = self.open_username
        if username is None:
            return error(400, "No conversation is open")
        limit = int(request.query.get("limit") or 20)
        items = [self.message_item(m) for m in self.inbox.conversation(username).messages]
        return ok({"messages": items[-limit:], "count": len(items[-limit:])})

    def message_item(self, message: SimMessage) -> dict[str, Any]:
        return {
            "text": message.text,
            "timestamp": iso(message.time),
            "isOutbound": message.outbound,
        }

    def discover(self, request: Request) -> Reply:
        criteria = request.body if isinstance(request.body, dict) else {}
        return discovery.discover(self.platform, self.profile, criteria)

    # --- sends ----------------------------------------------------------------------------
    def send_to(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        username, text = str(body.get("username") or ""), str(body.get("text") or "")
        if not text:
            return error(400, "text is required")
        refused = self.send_gate() or self.recipient_refusal(username)
        if refused is not None:
            return refused
        verified, crash = self.deliver(username, text)
        return DROP if crash else self.sent_reply(username, verified)

    def recipient_refusal(self, username: str) -> Reply | None:
        return None

    @abstractmethod
    def sent_reply(self, username: str, verified: bool) -> Reply:
        """The platform's own answer to a delivered message."""


class InstagramDMSim(DMSim):
    key, platform, default_port = "instagram_dm", "instagram", 3001
    hourly_limit, daily_limit = 10, 30
    session_refusal_status = 200
    on_platform_key, home_url = "isOnInstagram", "https://www.instagram.com/"
    status_reads_front = "unpinned"

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("POST", "/api/messages/send-to-thread"): self.send_to_thread,
            ("POST", "/api/conversations/open"): self.open_conversation,
            ("GET", "/api/messages"): self.open_messages,
            ("POST", "/api/prospect/discover"): self.discover,
        }

    def health(self, request: Request) -> Reply:
        return ok({"status": "ok", "rateLimits": self.limits_body()})

    def message_item(self, message: SimMessage) -> dict[str, Any]:
        return {**super().message_item(message), "messageType": "text"}

    def recipient_refusal(self, username: str) -> Reply | None:
        if missing(username):
            return error(404, f"Could not open a conversation with {username!r}")
        return None

    def sent_reply(self, username: str, verified: bool) -> Reply:
        return ok(
            {
                "success": True,
                "verified": verified,
                "strategy": "profile",
                "rateLimits": self.limits_body(),
            }
        )

    def send_to_thread(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        conversation = self.inbox.by_thread(str(body.get("threadId") or ""))
        text = str(body.get("text") or "")
        if not text:
            return error(400, "text is required")
        refused = self.send_gate()
        if refused is not None:
            return refused
        if conversation is None:
            return error(404, f"No thread {body.get('threadId')!r}")
        verified, crash = self.deliver(conversation.username, text)
        return DROP if crash else self.sent_reply(conversation.username, verified)


class TikTokDMSim(DMSim):
    key, platform, default_port = "tiktok_dm", "tiktok", 3002
    hourly_limit, daily_limit = 10, 50
    segment, on_platform_key, home_url = "tiktok", "isOnTikTok", "https://www.tiktok.com/"
    min_delay_ms, max_delay_ms = 120_000, 300_000

    def reset(self) -> None:
        self.messaged: set[str] = set()
        super().reset()

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("GET", "/api/tiktok/messages"): self.messages,
            ("POST", "/api/prospect/discover"): self.discover,
        }

    def health(self, request: Request) -> Reply:
        return ok({"status": "ok", "service": "tiktok-dm", "port": self.default_port})

    def rate_limits(self, request: Request) -> Reply:
        return ok({**self.limits_body(), "nextDelay": self.min_delay_ms})

    def conversation_item(self, conversation: SimConversation) -> dict[str, Any]:
        last = conversation.last
        return {
            "username": self.shown_name(conversation),
            "displayName": conversation.display_name,
            "lastMessage": last.text if last else "",
            "timestamp": iso(last.time) if last else None,
            "unread": conversation.unread,
        }

    def messages(self, request: Request) -> Reply:
        username = request.query.get("conversationId", "")
        limit = int(request.query.get("limit") or 50)
        found = self.find_conversation(username)
        items = [
            {
                "id": m.id,
                "text": m.text,
                "isOwn": m.outbound,
                "from": "me" if m.outbound else "them",
                "timestamp": iso(m.time),
            }
            for m in (found.messages if found else [])
        ][-limit:]
        return ok({"messages": items, "count": len(items)})

    def recipient_refusal(self, username: str) -> Reply | None:
        if missing(username):
            return error(400, f"identity_mismatch: no profile matches {username!r}")
        if username in self.messaged:
            return error(400, f"already_messaged: {username} was messaged before")
        return None

    def sent_reply(self, username: str, verified: bool) -> Reply:
        self.messaged.add(username)
        hour, day = self.counts()
        return ok(
            {
                "success": True,
                "username": username,
                "verified": verified,
                "rateLimits": {"hourly": hour, "daily": day},
            }
        )

    def deliver(
        self, username: str, text: str, *, post_url: str | None = None
    ) -> tuple[bool, bool]:
        """TikTok remembers the recipient even when the answer never makes it back."""
        self.messaged.add(username)
        return super().deliver(username, text, post_url=post_url)


class TwitterDMSim(DMSim):
    key, platform, default_port = "twitter_dm", "twitter", 3003
    hourly_limit, daily_limit = 15, 100
    session_refusal_status = 200
    segment, on_platform_key, home_url = "twitter", "isOnTwitter", "https://x.com/"
    status_reads_front = "always"
    min_delay_ms, max_delay_ms = 90_000, 240_000

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("GET", "/api/twitter/rate-status"): self.rate_status,
            ("POST", "/api/twitter/conversations/open"): self.open_conversation,
            ("GET", "/api/twitter/messages"): self.open_messages,
            ("POST", "/api/twitter/prospect/discover"): self.discover,
        }

    def health(self, request: Request) -> Reply:
        return ok({"status": "ok", "service": "twitter-dm"})

    def rate_status(self, request: Request) -> Reply:
        limited = self.counter.refusal(self.now()) is not None
        suspended = self.faults.suspended
        message = "Account suspended" if suspended else ("Rate limited" if limited else "OK")
        return ok({"limited": limited, "suspended": suspended, "message": message})

    def recipient_refusal(self, username: str) -> Reply | None:
        if missing(username):
            return error(
                200,
                f"Could not open a conversation with @{username}",
                verified=False,
                verifiedRecipient=False,
            )
        return None

    def sent_reply(self, username: str, verified: bool) -> Reply:
        hour, day = self.counts()
        return ok(
            {
                "success": True,
                "verified": verified,
                "verifiedRecipient": True,
                "rateLimits": {"messagesSentToday": day, "messagesSentThisHour": hour},
            }
        )
