"""Build the simulators: one `SimServer` per service, on the real port plus an offset."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .comment_services import (
    InstagramCommentSim,
    ThreadsCommentSim,
    TikTokCommentSim,
    TwitterCommentSim,
)
from .dm_services import DMSim, FrontTab, InstagramDMSim, TikTokDMSim, TwitterDMSim
from .server import SimServer
from .service import SimService

SERVICES: tuple[type[SimService], ...] = (
    InstagramDMSim,
    TikTokDMSim,
    TwitterDMSim,
    ThreadsCommentSim,
    InstagramCommentSim,
    TikTokCommentSim,
    TwitterCommentSim,
)


def selected(key: str, only: Iterable[str] | None) -> bool:
    """`--only instagram` picks instagram_dm and instagram_comments; `dm` picks the DM three."""
    if not only:
        return True
    platform, _, kind = key.partition("_")
    return any(name in (key, platform, kind) for name in only)


def build_servers(
    host: str = "127.0.0.1",
    port_offset: int = 1000,
    *,
    only: Iterable[str] | None = None,
    **options: Any,
) -> list[SimServer]:
    """Unstarted servers for every simulated service (or those `only` names).

    `options` go to each service: `seed`, `reply_probability`, `reply_delay_seconds`,
    `time_scale`, `duration_scale`, `profile` ("real", the default, or "kind").
    With port_offset 1000 the ports are the demo ports (4001-4007).
    """
    names = list(only) if only is not None else None
    front = FrontTab()  # one Safari: the DM services share its front document

    def build(cls: type[SimService]) -> SimService:
        return cls(front_tab=front, **options) if issubclass(cls, DMSim) else cls(**options)

    return [
        SimServer(build(cls), host=host, port=cls.default_port + port_offset)
        for cls in SERVICES
        if selected(cls.key, names)
    ]
