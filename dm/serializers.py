"""Shapes the dm API classes build on (each class nests its own input and output)."""

from __future__ import annotations

from rest_framework import serializers


class ConversationOutput(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField()
    displayName = serializers.CharField(source="display_name")
    lastMessage = serializers.CharField(source="last_message")
    lastMessageAt = serializers.DateTimeField(source="last_message_at", allow_null=True)
    unread = serializers.IntegerField()
    threadId = serializers.CharField(source="thread_id", allow_null=True)


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
