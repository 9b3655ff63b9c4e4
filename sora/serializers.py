"""Input and output shapes of the Sora API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from safari_auto.api import QuerySerializer
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


class CreditsBody(serializers.Serializer[Any]):
    """Unknown is null, never 0 (CONTRACTS.md)."""

    freeCredits = serializers.IntegerField(allow_null=True)
    paidCredits = serializers.IntegerField(allow_null=True)
    totalCredits = serializers.IntegerField(allow_null=True)
    lastChecked = serializers.DateTimeField(allow_null=True)
    estimatedRefreshTime = serializers.DateTimeField(allow_null=True)
    refreshIntervalHours = serializers.FloatField()
    remainingCredits = serializers.IntegerField(allow_null=True)
    reservedCredits = serializers.IntegerField()
    availableCredits = serializers.IntegerField(allow_null=True)
    known = serializers.BooleanField()
    slotsInUse = serializers.IntegerField()
    slotCapacity = serializers.IntegerField()


class CreditsOutput(serializers.Serializer[Any]):
    credits = CreditsBody()
    timeUntilRefresh = serializers.CharField(allow_null=True, help_text='e.g. "4h 23m"')


class TrilogyPartShape(serializers.Serializer[Any]):
    part = serializers.IntegerField(min_value=1)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    stage = serializers.CharField(max_length=100, required=False, allow_blank=True)
    prompt = serializers.CharField(max_length=5000)


class TrilogyShape(serializers.Serializer[Any]):
    id = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    theme = serializers.CharField(max_length=200, required=False, allow_blank=True)
    character = serializers.CharField(max_length=200, required=False, allow_blank=True)
    videos = TrilogyPartShape(many=True)


class TrilogiesOutput(serializers.Serializer[Any]):
    trilogies = TrilogyShape(many=True)


class TrilogyImportInput(serializers.Serializer[Any]):
    """A batch file (CONTRACTS.md) or one trilogy: `sora.importer` parses it, all or nothing.
    Documentation only: the importer is the one parser (it also reads batch files)."""

    generatedAt = serializers.DateTimeField(required=False)
    character = serializers.CharField(max_length=200, required=False, allow_blank=True)
    trilogies = TrilogyShape(many=True)


class TrilogyImportOutput(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    created = serializers.ListField(child=serializers.CharField())
    updated = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()


class VideoFileQuery(QuerySerializer):
    download = serializers.BooleanField(
        required=False, default=False, help_text="1: as an attachment; absent: inline"
    )
