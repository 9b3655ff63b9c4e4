"""Shapes the Sora API classes build on (each class nests its own input and output)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from sora.models import Trilogy


class VideoItem(serializers.Serializer[Any]):
    prompt = serializers.CharField(max_length=5000)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


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
