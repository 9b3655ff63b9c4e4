"""The finished video file, for the viewer role: view inline or download.

Browsers use their session; scripts send `Authorization: Token …` (the API's own
authentication classes, so this follows whatever token scheme the API uses). The path the
Sora service returned is served only when its real path (symlinks followed) lies inside
`SORA_VIDEO_DIR`; anything else answers 404, as if there were no file.
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from safari_auto import api
from safari_auto.permissions import ViewerReadsOperatorWrites
from sora import selectors
from sora.files import video_file_path


class AnyAccept(DefaultContentNegotiation):
    """A file answers whatever the client accepts (errors still render as JSON)."""

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class VideoFileView(APIView):
    permission_classes = [ViewerReadsOperatorWrites]
    content_negotiation_class = AnyAccept

    class QuerySerializer(api.QuerySerializer):
        download = serializers.BooleanField(
            required=False, default=False, help_text="1: as an attachment; absent: inline"
        )

    @extend_schema(
        responses={
            (200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY, description="the video")
        },
        parameters=[QuerySerializer],
        summary="A finished video's file (?download=1 for an attachment)",
    )
    def get(self, request: Request, video_id: int) -> FileResponse:
        download = self.QuerySerializer.parse(request)["download"]
        video = selectors.video_with_file(video_id=video_id)
        if video is None or not video.video_path:
            raise Http404("no finished video with that id")
        path = video_file_path(video.video_path)
        if path is None:
            raise Http404("the video file is not in the video folder on this machine")
        name = f"{video.part.trilogy.slug}-part{video.part.part}{path.suffix or '.mp4'}"
        return FileResponse(
            path.open("rb"),
            as_attachment=download,
            filename=name,
            content_type="video/mp4",
        )


video_file = VideoFileView.as_view()
