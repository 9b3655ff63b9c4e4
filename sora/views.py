"""The finished video file, behind login: view inline or download."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest

from sora import selectors


@login_required
def video_file(request: HttpRequest, video_id: int) -> FileResponse:
    video = selectors.video_with_file(video_id=video_id)
    if video is None or not video.video_path:
        raise Http404("no finished video with that id")
    path = Path(video.video_path)
    if not path.is_file():
        raise Http404("the video file is not on this machine")
    name = f"{video.part.trilogy.slug}-part{video.part.part}{path.suffix or '.mp4'}"
    return FileResponse(
        path.open("rb"),
        as_attachment=bool(request.GET.get("download")),
        filename=name,
        content_type="video/mp4",
    )
