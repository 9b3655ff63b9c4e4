"""What a `sora` task reads from its payload: a trilogy part's video (made by the system), or
a single video's prompt (see `scheduler.registry.TaskType.payload`)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_ID = 2**63 - 1


class VideoPayload(serializers.Serializer):  # type: ignore[type-arg]
    videoId = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    runId = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    trilogyId = serializers.CharField(max_length=100, required=False)
    part = serializers.IntegerField(min_value=1, max_value=100, required=False)
    admit = serializers.BooleanField(required=False)
    prompt = serializers.CharField(max_length=5000, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("videoId") and not attrs.get("prompt"):
            raise serializers.ValidationError({"prompt": "give the video's prompt"})
        return attrs
