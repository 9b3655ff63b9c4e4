"""Clients for the four comment services (Threads :3004, Instagram :3005, TikTok :3006, X :3007).

Every call carries `Authorization: Bearer <token>` from `settings.SERVICE_TOKENS`: the old
clients forgot it and every post came back 401. X's 280-character cap is checked here, before
the call, so a too-long comment fails at once and never spends a slot.
"""

from __future__ import annotations

from typing import Any

from .base import ServiceClient, service_token, service_url
from .results import SendResult, failed
from .types import COMMENT_PLATFORMS, CommentPlatform, Health, SessionStatus

X_MAX_CHARS = 280
# The route segment of each service: /api/<segment>/comments/post, /api/<segment>/status.
_SEGMENT: dict[str, str] = {
    "threads": "threads",
    "instagram": "instagram",
    "tiktok": "tiktok",
    "twitter": "twitter",
}


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
            headers={"Authorization": f"Bearer {secret}"},
            timeout=timeout,
        )
        self.platform = platform
        self.segment = _SEGMENT[platform]

    def health(self) -> Health:
        answer = self._call("GET", "/health")
        body = answer.body if isinstance(answer.body, dict) else {}
        ok = answer.ok and body.get("status") == "ok"
        return {"ok": ok, "detail": "ok" if ok else f"HTTP {answer.status}", "raw": body}

    def status(self) -> SessionStatus:
        body = self.read("GET", f"/api/{self.segment}/status")
        return {
            "logged_in": bool(body.get("isLoggedIn")),
            "on_platform": bool(body.get("currentUrl")),
            "current_url": str(body.get("currentUrl") or ""),
        }

    def counters(self) -> dict[str, Any]:
        """The service's own counts: `commentsThisHour`, `commentsToday`."""
        return self.read("GET", f"/api/{self.segment}/status")

    def post(self, post_url: str, text: str) -> SendResult:
        if self.platform == "twitter" and len(text) > X_MAX_CHARS:
            return failed(
                f"X comments allow {X_MAX_CHARS} characters; this one has {len(text)}",
                retryable=False,
            )
        return self.post_send(
            f"/api/{self.segment}/comments/post", {"text": text, "postUrl": post_url}
        )


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
