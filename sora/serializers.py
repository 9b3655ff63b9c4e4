"""Input and output shapes of the Sora API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from scheduler.taskinput import MAX_SORA_CREDITS
from sora.models import Trilogy


class QueueTrilogyInput(serializers.Serializer[Any]):
    trilogyId = serializers.CharField(max_length=100)
    trilogyName = serializers.CharField(max_length=200, required=False, allow_blank=True)
    waitForCredits = serializers.IntegerField(
        required=False, default=3, min_value=0, max_value=MAX_SORA_CREDITS
    )
    priority = serializers.IntegerField(required=False, default=2, min_value=1, max_value=5)
    idempotencyKey = serializers.CharField(
        max_length=150, required=False, allow_blank=True, allow_null=True
    )


class VideoItem(serializers.Serializer[Any]):
    prompt = serializers.CharField(max_length=5000)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class QueueVideosInput(serializers.Serializer[Any]):
    """POST /api/sora/videos: single videos that start by themselves, in order, as credits
    allow (the PRD's queueVideosOnRefresh)."""

    videos = serializers.ListField(child=VideoItem(), min_length=1, max_length=100)
    priority = serializers.IntegerField(required=False, default=2, min_value=1, max_value=5)
    idempotencyKey = serializers.CharField(
        max_length=150, required=False, allow_blank=True, allow_null=True
    )


class QueueVideosOutput(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    taskIds = serializers.ListField(child=serializers.CharField())
    taskId = serializers.CharField()
    message = serializers.CharField()


class QueueTrilogyOutput(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    taskIds = serializers.ListField(child=serializers.CharField())
    taskId = serializers.CharField(allow_null=True)
    runId = serializers.CharField()
    message = serializers.CharField()


def trilogy_data(trilogy: Trilogy) -> dict[str, Any]:
    return {
        "id": trilogy.slug,
        "title": trilogy.title,
        "theme": trilogy.theme,
        "character": trilogy.character,
        "videos": [
            {"part": p.part, "title": p.title, "stage": p.stage, "prompt": p.prompt}
            for p in trilogy.parts.all()
        ],
    }
