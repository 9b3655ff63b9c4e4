"""Simulated comment services (Threads, Instagram, TikTok, X): CONTRACTS.md "Comment services".

Every `/api/` call needs `Authorization: Bearer <token>` (the token of `SERVICE_TOKENS`, unless
one is given): without it the answer is 401 `{error:"Unauthorized", message}`.
"""

from __future__ import annotations

import hmac
import itertools
from typing import Any

from django.conf import settings

from .server import DROP, Reply, Request
from .service import Route, SimService, error, ok

X_MAX_CHARS = 280


class CommentSim(SimService):
    segment = ""

    def __init__(self, *, token: str | None = None, **options: Any) -> None:
        tokens = getattr(settings, "SERVICE_TOKENS", {})
        self.token = token if token is not None else str(tokens.get(self.key, ""))
        self._ids = itertools.count(1)
        super().__init__(**options)

    def routes(self) -> dict[tuple[str, str], Route]:
        return {
            **super().routes(),
            ("POST", f"/api/{self.segment}/comments/post"): self.post,
            ("GET", f"/api/{self.segment}/status"): self.status,
        }

    def health(self, request: Request) -> Reply:
        return ok(
            {"status": "ok", "service": self.key.replace("_", "-"), "port": self.default_port}
        )

    def authorize(self, request: Request) -> Reply | None:
        if not request.path.startswith("/api/"):
            return None
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self.token}"
        if self.token and hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return Reply(401, {"error": "Unauthorized", "message": "A valid Bearer token is required"})

    def status(self, request: Request) -> Reply:
        hour, day = self.counts()
        return ok(
            {
                "isLoggedIn": self.faults.session_problem() != "logged_out",
                "currentUrl": f"https://www.{self.platform}.com/",
                "commentsThisHour": hour,
                "commentsToday": day,
            }
        )

    def invalid(self, post_url: str, text: str) -> str | None:
        """Why the service refuses this comment outright (400), or None."""
        if not text or not post_url:
            return "text and postUrl are required"
        return None

    def post(self, request: Request) -> Reply:
        body = request.body if isinstance(request.body, dict) else {}
        text, post_url = str(body.get("text") or ""), str(body.get("postUrl") or "")
        problem = self.invalid(post_url, text)
        if problem is not None:
            return error(400, problem)
        refused = self.send_gate()
        if refused is not None:
            return refused
        verified, crash = self.deliver("", text, post_url=post_url)
        if crash:
            return DROP
        return ok(self.posted(text, verified))

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        return {
            "success": True,
            "commentId": f"c{next(self._ids)}",
            "text": text,
            "verified": verified,
        }


class ThreadsCommentSim(CommentSim):
    key, platform, default_port, segment = "threads_comments", "threads", 3004, "threads"
    hourly_limit, daily_limit = 5, 20

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        return {**super().posted(text, verified), "error": None}


class InstagramCommentSim(CommentSim):
    key, platform, default_port, segment = "instagram_comments", "instagram", 3005, "instagram"
    hourly_limit, daily_limit = 5, 15


class TikTokCommentSim(CommentSim):
    key, platform, default_port, segment = "tiktok_comments", "tiktok", 3006, "tiktok"
    hourly_limit, daily_limit = 5, 15

    def invalid(self, post_url: str, text: str) -> str | None:
        if post_url and "/video/" not in post_url:
            return "postUrl must be a full TikTok /video/ URL"
        return super().invalid(post_url, text)


class TwitterCommentSim(CommentSim):
    key, platform, default_port, segment = "twitter_comments", "twitter", 3007, "twitter"
    hourly_limit, daily_limit = 10, 30

    def invalid(self, post_url: str, text: str) -> str | None:
        if len(text) > X_MAX_CHARS:
            return f"Comment is {len(text)} characters; the limit is {X_MAX_CHARS}"
        return super().invalid(post_url, text)

    def posted(self, text: str, verified: bool) -> dict[str, Any]:
        return {**super().posted(text, verified), "charCount": len(text)}
