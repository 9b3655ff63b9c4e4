"""What the scheduler's own task types read from their payloads (see `TaskType.payload`)."""

from __future__ import annotations

from rest_framework import serializers

MAX_RETENTION_DAYS = 3650


class CheckPayload(serializers.Serializer):  # type: ignore[type-arg]
    seconds = serializers.FloatField(min_value=0, max_value=3600, required=False)
    # DRF's metaclass takes declared fields off the class, so `Serializer.fail` stays a method.
    fail = serializers.CharField(  # type: ignore[assignment]
        max_length=500, required=False, allow_blank=True
    )
    permanent = serializers.BooleanField(required=False)


class CleanupPayload(serializers.Serializer):  # type: ignore[type-arg]
    days = serializers.IntegerField(min_value=1, max_value=MAX_RETENTION_DAYS, required=False)
