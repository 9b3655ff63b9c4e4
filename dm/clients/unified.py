"""The unified DM client (the PRD's unified-dm): one interface over the three DM services.

Handlers, the API and the CLI talk to this and never to a platform's routes: it picks the
platform's client and hands back the normalised shapes of `types.py` and a `SendResult`.
Discovery lives here too because the discovery routes are served by the DM services.
"""

from __future__ import annotations

from typing import Any

from .dm import DMClient, InstagramDMClient, TikTokDMClient, TwitterDMClient
from .results import SendResult
from .types import Candidate, Conversation, Health, Message, SessionStatus


class UnifiedDMClient:
    """Dispatch by platform ("instagram", "tiktok", "twitter") to the service's client."""

    def __init__(
        self, clients: dict[str, DMClient] | None = None, *, timeout: float | None = None
    ) -> None:
        self._clients: dict[str, DMClient] = clients or {
            "instagram": InstagramDMClient(timeout=timeout),
            "tiktok": TikTokDMClient(timeout=timeout),
            "twitter": TwitterDMClient(timeout=timeout),
        }

    @property
    def platforms(self) -> list[str]:
        return list(self._clients)

    def client(self, platform: str) -> DMClient:
        try:
            return self._clients[platform]
        except KeyError:
            raise ValueError(f"no DM service for platform {platform!r}") from None

    def health(self, platform: str) -> Health:
        return self.client(platform).health()

    def status(self, platform: str) -> SessionStatus:
        return self.client(platform).status()

    def rate_limits(self, platform: str) -> dict[str, Any]:
        return self.client(platform).rate_limits()

    def conversations(self, platform: str) -> list[Conversation]:
        return self.client(platform).conversations()

    def messages(self, platform: str, username: str, limit: int = 20) -> list[Message]:
        return self.client(platform).messages(username, limit)

    def thread_read(self, platform: str, username: str, limit: int = 50) -> list[Message] | None:
        """Messages of a conversation when the read is trustworthy, else None."""
        client = self.client(platform)
        return client.thread_read(username, limit) if client.can_verify else None

    def wait_idle(self, platform: str, bound: float) -> bool:
        """Wait (at most `bound` s) until the service's Safari tab is free of any send."""
        return self.client(platform).wait_idle(bound)

    def send(self, platform: str, username: str, text: str) -> SendResult:
        return self.client(platform).send(username, text)

    def send_to_thread(self, thread_id: str, text: str) -> SendResult:
        """Reply in a known Instagram thread (only Instagram has thread ids)."""
        client = self.client("instagram")
        if not isinstance(client, InstagramDMClient):
            raise TypeError("the instagram client cannot send into a thread")
        return client.send_to_thread(thread_id, text)

    def discover(self, platform: str, **criteria: Any) -> list[Candidate]:
        return self.client(platform).discover(**criteria)
