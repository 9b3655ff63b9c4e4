"""Simulated DM services for Instagram, TikTok and X, serving CONTRACTS.md "DM services".

Usernames starting with `nouser` do not exist: Instagram answers 404, X `success:false`, and
TikTok 400 `identity_mismatch`. TikTok remembers whom it messaged and refuses a second cold
send with 400 `already_messaged`.

The `real` profile (the default) adds what CONTRACTS.md "How the real services behave" says:
slow sends on a busy tab (`tab.py`); X reads that never work (open answers 200
`{success:false}`, messages `[]`); Instagram and X answer 200 `{success:false, username}` to
opening an unknown conversation and leave the open thread as it was; TikTok stamps messages
with the time of the read and numbers them `msg-0, msg-1...` within the window read; Instagram
times are `""` or relative ("2h"); 429s carry no retry time and no Retry-After; a TikTok
CAPTCHA is 429 `{rateLimited, captcha}`; X refuses recipients `suspended_*` ("Account
suspended"), `protected_*` ("Account is protected") and `nouser*` ("User not found"), and its
`verifiedRecipient` is the header text. Faults `challenge` (a CAPTCHA for that send) and
`double_send` (Instagram sends again through the inbox: two deliveries, one
`{success:true, strategy:"inbox"}`) and `status_504` (delivered, answered 504 Gateway Timeout)
work in both profiles.

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
from dataclasses import replace
from datetime import timedelta
from typing import Any

from . import discovery
from .server import DROP, Reply, Request
from .service import Route, error, ok
from .state import SimConversation, SimMessage, iso
from .tab import TabSimService

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


class DMSim(TabSimService, ABC):
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

    @property
    def real(self) -> bool:
        return self.profile == "real"

    def tab_kind(self, request: Request) -> str | None:
        if request.path == self.api("status"):
            return "status"
        if "/messages/send-to" in request.path:
            return "send"
        if request.path in (self.api("conversations/open"), self.api("messages")):
            return "read"
        return None

    def interleaved_read(self, request: Request, route: Route) -> Reply:
        """A read while a send drives the tab: it sees the thread the send is typing into."""
        self.open_username = self.typing_to
        if request.path == self.api("conversations/open"):
            username = str((request.body or {}).get("username") or "")
            return ok({"success": True, "username": username})
        return route(request)

    def limited(self, message: str, retry_after: float | None) -> Reply:
        if not self.real:
            return super().limited(message, retry_after)
        return Reply(429, {"error": message, "activeHours": {"start": 9, "end": 21}})

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
        found = self.find_conversation(username)  # the list's shown name opens it too
        if self.real and (missing(username) or found is None):
            return ok({"success": False, "username": username, "error": "Conversation not found"})
        if missing(username):
            return error(404, f"Could not open a conversation with {username!r}")
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
        target = self.send_target(request)
        return target if isinstance(target, Reply) else self.finish_send(*target)

    def send_target(self, request: Request) -> tuple[str, str] | Reply:
        """Whom and what a send is for, or the answer that refuses it before anything is out."""
        body = request.body if isinstance(request.body, dict) else {}
        username, text = str(body.get("username") or ""), str(body.get("text") or "")
        if not text:
            return error(400, "text is required")
        refused = self.send_gate() or self.challenge() or self.recipient_refusal(username)
        return refused if refused is not None else (username, text)

    def challenge(self) -> Reply | None:
        """The `challenge` fault: a CAPTCHA shows up for this one send."""
        return self.session_refusal("captcha") if self.faults.take("challenge", self.rng) else None

    def finish_send(self, username: str, text: str) -> Reply:
        verified, crash = self.deliver(username, text)
        if self.faults.take("status_504", self.rng):
            return Reply(504, {"error": "Gateway Timeout"})  # a proxy gave up; it went out
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
    send_seconds = 19.0
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
        item = {**super().message_item(message), "messageType": "text"}
        if self.real:
            item["timestamp"] = relative(self.now() - message.time)
        return item

    def recipient_refusal(self, username: str) -> Reply | None:
        if missing(username):
            return error(404, f"Could not open a conversation with {username!r}")
        return None

    def finish_send(self, username: str, text: str) -> Reply:
        """With `double_send`, the profile path's own check fails and the service types the
        message again through the inbox: two deliveries, one answer without `verified`."""
        if not self.faults.take("double_send", self.rng):
            return super().finish_send(username, text)
        self.deliver(username, text)
        _, crash = self.deliver(username, text)
        if crash:
            return DROP
        return ok({"success": True, "strategy": "inbox", "rateLimits": self.limits_body()})

    def sent_reply(self, username: str, verified: bool) -> Reply:
        return ok(
            {
                "success": True,
                "verified": verified,
                "strategy": "profile",
                "rateLimits": self.limits_body(),
            }
        )

    def send_target(self, request: Request) -> tuple[str, str] | Reply:
        if request.path != "/api/messages/send-to-thread":
            return super().send_target(request)
        body = request.body if isinstance(request.body, dict) else {}
        conversation = self.inbox.by_thread(str(body.get("threadId") or ""))
        text = str(body.get("text") or "")
        if not text:
            return error(400, "text is required")
        refused = self.send_gate() or self.challenge()
        if refused is not None:
            return refused
        if conversation is None:
            return error(404, f"No thread {body.get('threadId')!r}")
        return conversation.username, text

    def send_to_thread(self, request: Request) -> Reply:
        return self.send_to(request)


def relative(age: timedelta) -> str:
    """How Instagram shows a message's time: nothing for a fresh one, else "5m", "2h", "3d"."""
    seconds = age.total_seconds()
    if seconds < 60:
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return ""


class TikTokDMSim(DMSim):
    key, platform, default_port = "tiktok_dm", "tiktok", 3002
    hourly_limit, daily_limit = 10, 50
    segment, on_platform_key, home_url = "tiktok", "isOnTikTok", "https://www.tiktok.com/"
    min_delay_ms, max_delay_ms = 120_000, 300_000
    send_seconds = 35.0

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
        """Real: the time of the read on every message, ids by position in the window."""
        username = request.query.get("conversationId", "")
        limit = int(request.query.get("limit") or 50)
        found = self.find_conversation(username)
        window = (found.messages if found else [])[-limit:]
        read_at = iso(self.now())
        items = [
            {
                "id": f"msg-{number}" if self.real else m.id,
                "text": m.text,
                "isOwn": m.outbound,
                "from": "me" if m.outbound else "them",
                "timestamp": read_at if self.real else iso(m.time),
            }
            for number, m in enumerate(window)
        ]
        return ok({"messages": items, "count": len(items)})

    def interleaved_read(self, request: Request, route: Route) -> Reply:
        query = {**request.query, "conversationId": self.typing_to or ""}
        return route(replace(request, query=query))

    def busy_send_reply(self) -> Reply | None:
        return error(429, "in_flight: a send is already running in this tab", rateLimited=True)

    def limited(self, message: str, retry_after: float | None) -> Reply:
        if not self.real:
            return super().limited(message, retry_after)
        hour, day = self.counts()
        return error(429, message, rateLimits={"hourly": hour, "daily": day})

    def session_refusal(self, problem: str) -> Reply:
        if self.real and problem == "captcha":
            return error(429, "CAPTCHA detected", rateLimited=True, captcha=True)
        return super().session_refusal(problem)

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


# X refuses these recipients with 200 {success:false, error} in the real profile.
X_RECIPIENT_ERRORS = (
    ("suspended_", "Account suspended"),
    ("protected_", "Account is protected"),
    ("nouser", "User not found"),
)


class TwitterDMSim(DMSim):
    key, platform, default_port = "twitter_dm", "twitter", 3003
    hourly_limit, daily_limit = 15, 100
    session_refusal_status = 200
    segment, on_platform_key, home_url = "twitter", "isOnTwitter", "https://x.com/"
    status_reads_front = "always"
    min_delay_ms, max_delay_ms = 90_000, 240_000
    send_seconds = 10.0

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

    def open_conversation(self, request: Request) -> Reply:
        """Real: the opening snippet fails inside Safari, whoever the conversation is with."""
        if not self.real:
            return super().open_conversation(request)
        username = str((request.body or {}).get("username") or "")
        return ok({"success": False, "username": username, "error": "Could not open"})

    def open_messages(self, request: Request) -> Reply:
        """Real: the reading snippet fails inside Safari: always no messages."""
        if not self.real:
            return super().open_messages(request)
        return ok({"messages": [], "count": 0})

    def recipient_refusal(self, username: str) -> Reply | None:
        if self.real:
            for prefix, message in X_RECIPIENT_ERRORS:
                if username.startswith(prefix):
                    return error(200, message, verified=False, verifiedRecipient="")
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
        header = self.inbox.conversation(username).display_name if self.real else True
        return ok(
            {
                "success": True,
                "verified": verified,
                "verifiedRecipient": header,
                "rateLimits": {"messagesSentToday": day, "messagesSentThisHour": hour},
            }
        )
