"""Where finished videos may be read from: only inside `SORA_VIDEO_DIR`.

The Sora service tells us a path; we never open it as given. The path and the folder are
both resolved (symlinks followed, `..` collapsed) and the file must lie inside the folder.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def video_file_path(raw: str, folder: Path | None = None) -> Path | None:
    """The real path of `raw` if it is a regular file inside the video folder, else None."""
    if not raw or "\x00" in raw:
        return None
    try:
        root = Path(folder or settings.SORA_VIDEO_DIR).resolve(strict=True)
        path = Path(raw).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if path == root or not path.is_relative_to(root) or not path.is_file():
        return None
    return path
