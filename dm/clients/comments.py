"""Clients for the four comment services (Threads :3004, Instagram :3005, TikTok :3006, X :3007).

Every call carries `Authorization: Bearer <token>` from `settings.SERVICE_TOKENS` (the old
clients forgot it and every post came back 401); an empty token (TikTok's default) sends none.
X's 280-character cap is checked here on the text as X will post it (SQL-looking words become
`[FILTERED:word]`), so a too-long comment fails at once and never spends a slot.

Answers mean what the real services mean (CONTRACTS.md "How the real services behave"):
- a 504 (Instagram and Threads answer it at 30 s while the post goes on) or a lost answer is
  `SendOutcomeUnknown`, never a failure a retry could fix: the comment may be up;
- a problem with the target (no such post, comments turned off) is permanent for that target
  and says nothing about our account;
- TikTok and X answer the posted text as `generatedComment`; `posted_details` reads it.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from dm.platforms import COMMENT_PLATFORMS, CommentPlatform
from safari_auto.http import ServiceError, call

from .base import ServiceClient, service_token, service_url
from .results import SendOutcomeUnknown, SendResult, failed, send_result
from .types import Health, SessionStatus

X_MAX_CHARS = 280
# X's comment service rewrites these as `[FILTERED:word]` before checking its 280 characters.
_X_FILTERED = re.compile(
    r"\b(select|update|delete|insert|create|drop|alter|truncate|union|exec)\b", re.IGNORECASE
)
# Errors about the post itself: the same comment on the same post can never succeed.
_TARGET_ERRORS = (
    "comments_off",
    "comments are off",
    "comments are turned off",
    "comments disabled",
    "post not found",
    "video not found",
    "tweet not found",
    "thread not found",
    "post unavailable",
    "video unavailable",
    "post was deleted",
    "video is private",
)
# The route segment of each service: /api/<segment>/comments/post, /api/<segment>/status.
_SEGMENT: dict[str, str] = {
    "threads": "threads",
    "instagram": "instagram",
    "tiktok": "tiktok",
    "twitter": "twitter",
}
_ON_PLATFORM: dict[str, str] = {
    "threads": "isOnThreads",
    "instagram": "isOnInstagram",
    "tiktok": "isOnTikTok",
    "twitter": "isOnTwitter",
}


def x_as_posted(text: str) -> str:
    """The text X's comment service would post (and count) for `text`."""
    return _X_FILTERED.sub(lambda match: f"[FILTERED:{match.group(0)}]", text)


def posted_details(raw: dict[str, Any]) -> dict[str, Any]:
    """What the service says it posted: the text (`generatedComment` on TikTok and X), the
    strategy, whether AI wrote it, and the comment id, for the task's result."""
    text = raw.get("generatedComment", raw.get("text"))
    details = {
        "postedText": text if isinstance(text, str) else None,
        "strategy": raw.get("strategy"),
        "usedAI": raw.get("usedAI"),
        "commentId": raw.get("commentId"),
    }
    return {key: value for key, value in details.items() if value is not None}


def target_problem(reason: str) -> bool:
    lowered = reason.lower()
    return any(marker in lowered for marker in _TARGET_ERRORS)


class CommentServiceClient(ServiceClient):
    """One comment service: post a comment on a URL, read the session and counters."""

    def __init__(
        self,
        platform: CommentPlatform,
        *,
        base_url: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
    ) -> None:
        key = f"{platform}_comments"
        secret = token if token is not None else service_token(key)
        super().__init__(
            base_url or service_url(key),
            headers={"Authorization": f"Bearer {secret}"} if secret else None,
            timeout=timeout if timeout is not None else settings.COMMENT_READ_TIMEOUT_SECONDS,
        )
        self.platform = platform
        self.segment = _SEGMENT[platform]
        self.post_timeout = (
            timeout if timeout is not None else float(settings.COMMENT_POST_TIMEOUTS[key])
        )

    def health(self) -> Health:
        """Liveness: never raises; a refused connection is a service that is down."""
        try:
            answer = self._call("GET", "/health")
        except ServiceError as exc:
            return {"ok": False, "detail": str(exc), "raw": {}}
        body = answer.body if isinstance(answer.body, dict) else {}
        ok = answer.ok and body.get("status") == "ok"
        return {"ok": ok, "detail": "ok" if ok else f"HTTP {answer.status}", "raw": body}

    def status(self) -> SessionStatus:
        """`isLoggedIn` is read from Safari's front tab: with `isOn<Platform>` false it is
        unknown, not logged out (the caller decides; `on_platform` tells it)."""
        body = self.read("GET", f"/api/{self.segment}/status")
        key = _ON_PLATFORM[self.platform]
        on_platform = body[key] if key in body else bool(body.get("currentUrl"))
        return {
            "logged_in": bool(body.get("isLoggedIn")),
            "on_platform": bool(on_platform),
            "current_url": str(body.get("currentUrl") or ""),
        }

    def counters(self) -> dict[str, Any]:
        """The service's own counts: `commentsThisHour`, `commentsToday`."""
        return self.read("GET", f"/api/{self.segment}/status")

    def post(self, post_url: str, text: str) -> SendResult:
        if self.platform == "twitter" and len(x_as_posted(text)) > X_MAX_CHARS:
            return failed(
                f"X comments allow {X_MAX_CHARS} characters as posted; this one has "
                f"{len(x_as_posted(text))} after X filters SQL-looking words",
                retryable=False,
            )
        path = f"/api/{self.segment}/comments/post"
        url = self.base_url + path
        try:
            answer = call(
                "POST",
                url,
                json={"text": text, "postUrl": post_url},
                headers=self.headers or None,
                timeout=self.post_timeout,
            )
        except ServiceError as exc:
            if exc.request_left:
                raise SendOutcomeUnknown(str(exc), platform=self.platform, url=url) from exc
            return failed(f"{self.platform} comments unreachable: {exc}", retryable=True)
        if answer.status == 504:
            raise SendOutcomeUnknown(
                f"{self.platform} comments answered 504 Gateway Timeout: the post may still "
                "have gone up",
                platform=self.platform,
                url=url,
            )
        body = answer.body if isinstance(answer.body, dict) else {}
        reason = str(body.get("error") or body.get("message") or "")
        if body.get("success") is not True and target_problem(reason):
            return failed(f"this post cannot take the comment: {reason}", retryable=False, raw=body)
        return send_result(answer)


class CommentsClient:
    """One interface over the four comment services: `post(platform, post_url, text)`."""

    def __init__(self, clients: dict[str, CommentServiceClient] | None = None) -> None:
        self._clients = clients or {p: CommentServiceClient(p) for p in COMMENT_PLATFORMS}

    def client(self, platform: str) -> CommentServiceClient:
        try:
            return self._clients[platform]
        except KeyError:
            raise ValueError(f"no comment service for platform {platform!r}") from None

    def post(self, platform: str, post_url: str, text: str) -> SendResult:
        return self.client(platform).post(post_url, text)

    def status(self, platform: str) -> SessionStatus:
        return self.client(platform).status()

    def health(self, platform: str) -> Health:
        return self.client(platform).health()
