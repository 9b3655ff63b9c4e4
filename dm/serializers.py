"""Request and answer shapes of the dm API (camelCase, as the rest of the API)."""

from __future__ import annotations

from rest_framework import serializers

from dm.models import MAX_DAILY_CAP, MAX_GAP_SECONDS, MAX_HOURLY_CAP
from dm.platforms import DM_PLATFORMS
from scheduler.api.serializers import TaskSerializer


class DmSendInput(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.ChoiceField(choices=DM_PLATFORMS)
    username = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    text = serializers.CharField(max_length=10_000)
    threadId = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=200
    )
    account = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    scheduledFor = serializers.DateTimeField(required=False, allow_null=True)
    priority = serializers.IntegerField(min_value=1, max_value=5, required=False, default=3)
    idempotencyKey = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=150
    )

    def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
        if not attrs.get("username") and not attrs.get("threadId"):
            raise serializers.ValidationError({"username": "name the recipient"})
        if attrs.get("threadId") and attrs["platform"] != "instagram":
            raise serializers.ValidationError({"threadId": "only Instagram replies by thread id"})
        return attrs


class DmSendOutput(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    taskId = serializers.CharField()
    task = TaskSerializer()
    created = serializers.BooleanField()


class ConversationOutput(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    displayName = serializers.CharField(source="display_name")
    lastMessage = serializers.CharField(source="last_message")
    lastMessageAt = serializers.DateTimeField(source="last_message_at", allow_null=True)
    unread = serializers.IntegerField()
    threadId = serializers.CharField(source="thread_id", allow_null=True)


class ConversationsOutput(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.CharField()
    conversations = ConversationOutput(many=True)
    count = serializers.IntegerField()


class PlatformOutput(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.CharField()
    account = serializers.CharField()
    accountId = serializers.CharField()
    isReady = serializers.BooleanField()
    isLoggedIn = serializers.BooleanField(allow_null=True)
    cooldownUntil = serializers.DateTimeField(allow_null=True)
    messagesThisHour = serializers.IntegerField()
    messagesToday = serializers.IntegerField()
    lastActivity = serializers.DateTimeField(allow_null=True)
    waitReason = serializers.CharField(allow_null=True)
    limits = serializers.JSONField()
    activeHours = serializers.JSONField()


class PlatformsOutput(serializers.Serializer):  # type: ignore[type-arg]
    platforms = PlatformOutput(many=True)


class AccountPatchInput(serializers.Serializer):  # type: ignore[type-arg]
    action = serializers.ChoiceField(choices=["dm", "comment"], required=False, default="dm")
    hourlyCap = serializers.IntegerField(min_value=0, max_value=MAX_HOURLY_CAP, required=False)
    dailyCap = serializers.IntegerField(min_value=0, max_value=MAX_DAILY_CAP, required=False)
    minGapSeconds = serializers.IntegerField(min_value=0, max_value=MAX_GAP_SECONDS, required=False)
    maxGapSeconds = serializers.IntegerField(min_value=0, max_value=MAX_GAP_SECONDS, required=False)
    activeStart = serializers.TimeField(required=False)
    activeEnd = serializers.TimeField(required=False)
    timezone = serializers.CharField(required=False, max_length=64)
    automation = serializers.BooleanField(required=False)
    paused = serializers.BooleanField(required=False)
    pauseReason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=300
    )
    clearCooldown = serializers.BooleanField(required=False, default=False)


class AccountOutput(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    account = PlatformOutput()


class SendDecideInput(serializers.Serializer):  # type: ignore[type-arg]
    decision = serializers.ChoiceField(choices=["sent", "resend"])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
