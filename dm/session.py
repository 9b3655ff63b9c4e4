"""What a status answer says about the Safari session (pure).

The services' status reads Safari's *front* document (CONTRACTS.md "Status reads the front
tab"): right after a TikTok send, X's status says `isOnTwitter:false, isLoggedIn:false` with
TikTok's URL. That is "unknown", never "logged out". Only a status that is on the platform's
own site and says `isLoggedIn:false` is logged out.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from dm.clients.types import SessionStatus

Session = Literal["logged_in", "logged_out", "unknown"]

PLATFORM_HOSTS: dict[str, tuple[str, ...]] = {
    "instagram": ("instagram.com",),
    "tiktok": ("tiktok.com",),
    "twitter": ("x.com", "twitter.com"),
    "threads": ("threads.net", "threads.com"),
}


def on_site(url: str, platform: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in PLATFORM_HOSTS.get(platform, ()))


def session_of(status: SessionStatus, platform: str) -> Session:
    """`on_platform` is the service's `isOn<Platform>`; a URL, when given, must agree."""
    if status["logged_in"]:
        return "logged_in"
    url = status["current_url"]
    if status["on_platform"] and (not url or on_site(url, platform)):
        return "logged_out"
    return "unknown"
