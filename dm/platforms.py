"""The platforms we automate, written once: which take DMs and which take comments.

Everything else (the model's choices, the CLI's `--platform`, the serializers, the clients,
the recurring schedules) reads these tuples; a new platform is added here.
"""

from __future__ import annotations

from typing import Literal, get_args

DMPlatform = Literal["instagram", "tiktok", "twitter"]
CommentPlatform = Literal["threads", "instagram", "tiktok", "twitter"]

DM_PLATFORMS: tuple[DMPlatform, ...] = get_args(DMPlatform)
COMMENT_PLATFORMS: tuple[CommentPlatform, ...] = get_args(CommentPlatform)
# Every platform an account can be on, DM platforms first.
PLATFORMS: tuple[str, ...] = tuple(dict.fromkeys((*DM_PLATFORMS, *COMMENT_PLATFORMS)))
# How people call them (X is still `twitter` in every key and URL).
PLATFORM_LABELS: dict[str, str] = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "twitter": "X",
    "threads": "Threads",
}
# The model's choices; the labels are the ones its first migration recorded.
PLATFORM_CHOICES: list[tuple[str, str]] = [(name, name.title()) for name in PLATFORMS]
