"""Simulated comment services (Threads, Instagram, TikTok, X): CONTRACTS.md "Comment services".

Every `/api/` call needs `Authorization: Bearer <token>` (the token of `SERVICE_TOKENS`, whose
defaults are the real services' own: Threads `threads-local-dev-token`, Instagram `test-token`,
X `test-token-12345`); any other token is answered 401 `{error:"Unauthorized", message}`. An
empty token means no auth, as TikTok's service does unless its token is set.

The `real` profile (the default) behaves as the real services were measured to
("How the real services behave"): a post waits inside the request for 5-12 s (scaled by the
time scale); Instagram and Threads answer `504` at 30 s while a slower post carries on and is
delivered (counted in `/_sim/sent`); Instagram's service can then go down (connections refused)
for a while; X rewrites SQL-looking words as `[FILTERED:word]` and checks 280 characters after
the rewrite; TikTok and X answer `generatedComment` (not `text`); Instagram sends no `verified`;
status reads Safari's front tab. The `kind` profile answers at once, as before.

Targets: a `postUrl` containing `nopost` names a post that does not exist; a TikTok one
containing `commentsoff` has comments turned off. Both are answered 200 `{success:false}`.

`POST /_sim/config` adds to the shared keys: `post_seconds` (a fixed post duration in simulated
seconds, or null for 5-12 s), `slow_next` (the next N posts take 36 s), `down_after_504`
(simulated seconds Instagram stays down after a 504; 0 = never), `front_tab` (`"own"` or
`"other"`: another site's tab is in front).
"""

from __future__ import annotations

import hmac
import itertools
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings

from .server import DROP, Reply, Request
from .service import Route, SimService, error, ok

X_MAX_CHARS = 280
GATEWAY_SECONDS = 30.0  # the Instagram and Threads services' own middleware answers 504 here
SLOW_POST_SECONDS = 36.0
POST_SECONDS = (5.0, 12.0)
_SQL_WORDS = re.compile(
    r"\b(select|update|delete|insert|create|drop|alter|truncate|union|exec)\b", re.IGNORECASE
)


def x_filtered(text: str) -> str:
    """What X's comment service posts: SQL-looking words rewritten as `[FILTERED:word]`."""
    return _SQL_WORDS.sub(lambda match: f"[FILTERED:{match.group(0)}]", text)


class CommentSim(SimService):
    segment = ""
    on_platform_key = ""
    gateway_timeout = False  # answers 504 at GATEWAY_SECONDS while the post goes on
    down_after_gateway = False  # the service can crash right after its 504

    def __init__(self, *, token: str | None = None, **options: Any) -> None:
        tokens = getattr(settings, "SERVICE_TOKENS", {})
        self.token = token if token is not None else str(tokens.get(self.key, ""))
        self._ids = itertools.count(1)
        self.outage: Callable[[float], None] | None = None  # set by the SimServer serving us
        super().__init__(**options)

    def reset(self) -> None:
        with self.lock:
            self.post_seconds: float | None = None
            self.slow_next = 0
            self.down_after_504 = 0.0
            self.front_tab = "own"
            super().reset()

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("POST", self.post_path): self.post,
            ("GET", f"/api/{self.segment}/status"): self.status,
        }

    @property
    def post_path(self) -> str:
        return f"/api/{self.segment}/comments/post"

    @property
    def real(self) -> bool:
        return getattr(self, "profile", "real") == "real"

    def health(self, request: Request) -> Reply:
        return ok(
            {"status": "ok", "service": self.key.replace("_", "-"), "port": self.default_port}
        )

    def authorize(self, request: Request) -> Reply | None:
        if not request.path.startswith("/api/") or not self.token:
            return None
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self.token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return Reply(401, {"error": "Unauthorized", "message": "A valid Bearer token is required"})

    def status(self, request: Request) -> Reply:
        hour, day = self.counts()
        elsewhere = self.real and self.front_tab == "other"
        return ok(
            {
                "isLoggedIn": not elsewhere and self.faults.session_problem() != "logged_out",
                self.on_platform_key: not elsewhere,
                "currentUrl": "https://www.tiktok.com/" if elsewhere else self.home_url,
                "commentsThisHour": hour,
                "commentsToday": day,
            }
        )

    @property
    def home_url(self) -> str:
        return f"https://www.{self.platform}.com/"

    # --- posting --------------------------------------------------------------------------
    def invalid(self, post_url: str, text: str) -> str | None:
        """Why the service refuses this comment outright (400), or None."""
        if not text or not post_url:
            return "text and postUrl are required"
        return None

    def target_problem(self, post_url: str) -> str | None:
        """Why this post cannot take a comment (a permanent answer about the target), or None."""
        return "Post not found" if "nopost" in post_url else None

    def handle(self, request: Request) -> Reply:
        """A real post waits outside the service lock, so status and health still answer."""
        if self.real and (request.method, request.path) == ("POST", self.post_path):
            with self.lock:
                self.requests.append(request)
                early = self.authorize(request) or self._accept(request)
            if isinstance(early, Reply):
                return early
            return self._post_slowly(*early)
        return super().handle(request)

    def post(self, request: Request) -> Reply:
        """The kind profile: the comment is posted at once."""
        accepted = self._accept(request)
        if isinstance(accepted, Reply):
            return accepted
        verified, crash = self.deliver("", accepted[0], post_url=accepted[1])
        return DROP if crash else ok(self.posted(accepted[0], verified))

    def _accept(self, request: Request) -> Reply | tuple[str, str]:
        """Check a post (under the lock): the refusal, or (text to post, post URL)."""
        body = request.body if isinstance(request.body, dict) else {}
        text, post_url = str(body.get("text") or ""), str(body.get("postUrl") or "")
        text = self.rewrite(text)
        problem = self.invalid(post_url, text)
        if problem is not None:
            return error(400, problem)
        refused = self.send_gate()
        if refused is not None:
            return refused
        target = self.target_problem(post_url)
        if target is not None:
            return ok({"success": False, "error": target})
        return text, post_url

    def rewrite(self, text: str) -> str:
        return text

    def _duration(self) -> float:
        with self.lock:
            if self.slow_next > 0:
                self.slow_next -= 1
                seconds = SLOW_POST_SECONDS
            elif self.post_seconds is not None:
                seconds = self.post_seconds
            else:
                seconds = self.rng.uniform(*POST_SECONDS)
        return seconds / self.scale

    def _post_slowly(self, text: str, post_url: str) -> Reply:
        """The post drives the tab while it waits (`GET /_sim/tab` says busy), until its
        answer or its 504."""
        driving = self.tab.acquire(blocking=False)
        try:
            return self._post_waiting(text, post_url)
        finally:
            if driving:
                self.tab.release()

    def _post_waiting(self, text: str, post_url: str) -> Reply:
        duration = self._duration()
        gateway = GATEWAY_SECONDS / self.scale
        if self.gateway_timeout and duration > gateway:
            time.sleep(gateway)
            timer = threading.Timer(duration - gateway, self._deliver_late, (text, post_url))
            timer.daemon = True
            timer.start()
            if self.down_after_gateway and self.down_after_504 and self.outage is not None:
                self.outage(self.down_after_504 / self.scale)
            return Reply(504, {"error": "Gateway Timeout"})
        time.sleep(duration)
        with self.lock:
            verified, crash = self.deliver("", text, post_url=post_url)
        return DROP if crash else ok(self.posted(text, verified))

    def _deliver_late(self, text: str, post_url: str) -> None:
        with self.lock:
            self.deliver("", text, post_url=post_url)

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        return {
            "success": True,
            "commentId": f"c{next(self._ids)}",
            "text": text,
            "verified": verified,
        }

    def _configure(self, body: Any) -> Reply:
        if isinstance(body, dict):
            with self.lock:
                if "post_seconds" in body:
                    value = body["post_seconds"]
                    self.post_seconds = None if value is None else float(value)
                if "slow_next" in body:
                    self.slow_next = int(body["slow_next"])
                if "down_after_504" in body:
                    self.down_after_504 = float(body["down_after_504"])
                if "front_tab" in body:
                    self.front_tab = str(body["front_tab"])
            body = {k: v for k, v in body.items() if k not in _OWN_CONFIG}
        return super()._configure(body)


_OWN_CONFIG = ("post_seconds", "slow_next", "down_after_504", "front_tab")


class ThreadsCommentSim(CommentSim):
    key, platform, default_port, segment = "threads_comments", "threads", 3004, "threads"
    hourly_limit, daily_limit = 5, 20
    on_platform_key, gateway_timeout = "isOnThreads", True

    @property
    def home_url(self) -> str:
        return "https://www.threads.net/"

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        return {**super().posted(text, verified), "error": None}


class InstagramCommentSim(CommentSim):
    key, platform, default_port, segment = "instagram_comments", "instagram", 3005, "instagram"
    hourly_limit, daily_limit = 5, 15
    on_platform_key, gateway_timeout, down_after_gateway = "isOnInstagram", True, True

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        answer = super().posted(text, verified)
        if self.real:
            del answer["verified"]
        return answer


class TikTokCommentSim(CommentSim):
    key, platform, default_port, segment = "tiktok_comments", "tiktok", 3006, "tiktok"
    hourly_limit, daily_limit = 5, 15
    on_platform_key = "isOnTikTok"

    def invalid(self, post_url: str, text: str) -> str | None:
        if post_url and "/video/" not in post_url:
            return "postUrl must be a full TikTok /video/ URL"
        return super().invalid(post_url, text)

    def target_problem(self, post_url: str) -> str | None:
        if "commentsoff" in post_url:
            return "comments_off"
        return super().target_problem(post_url)

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        if not self.real:
            return super().posted(text, verified)
        return {"success": True, "generatedComment": text, "strategy": "provided", "usedAI": False}


class TwitterCommentSim(CommentSim):
    key, platform, default_port, segment = "twitter_comments", "twitter", 3007, "twitter"
    hourly_limit, daily_limit = 10, 30
    on_platform_key = "isOnTwitter"

    @property
    def home_url(self) -> str:
        return "https://x.com/"

    def rewrite(self, text: str) -> str:
        return x_filtered(text) if self.real else text

    def invalid(self, post_url: str, text: str) -> str | None:
        if len(text) > X_MAX_CHARS:
            return f"Comment is {len(text)} characters; the limit is {X_MAX_CHARS}"
        return super().invalid(post_url, text)

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        if not self.real:
            return {**super().posted(text, verified), "charCount": len(text)}
        return {
            "success": True,
            "charCount": len(text),
            "generatedComment": text,
            "strategy": "provided",
            "usedAI": False,
            "verified": verified,
        }
