"""What the dm task types read from their payloads (see `scheduler.registry.TaskType.payload`),
checked when a task is created rather than when it runs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from dm.models import Action

MAX_TEXT = 10_000
MAX_NAME = 200
MAX_URL = 2000


class DmPayload(serializers.Serializer):  # type: ignore[type-arg]
    username = serializers.CharField(max_length=MAX_NAME, required=False, allow_blank=True)
    text = serializers.CharField(max_length=MAX_TEXT)
    threadId = serializers.CharField(max_length=MAX_NAME, required=False, allow_blank=True)
    campaignId = serializers.CharField(max_length=MAX_NAME, required=False)
    contactId = serializers.CharField(max_length=MAX_NAME, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("username", "").lstrip("@") and not attrs.get("threadId"):
            raise serializers.ValidationError(
                {"username": "name the recipient (or the threadId to reply in)"}
            )
        return attrs


class CommentPayload(serializers.Serializer):  # type: ignore[type-arg]
    postUrl = serializers.URLField(max_length=MAX_URL, required=False)
    post_url = serializers.URLField(max_length=MAX_URL, required=False)
    text = serializers.CharField(max_length=MAX_TEXT)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("postUrl") and not attrs.get("post_url"):
            raise serializers.ValidationError({"postUrl": "name the post to comment on"})
        return attrs


def _words() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=MAX_NAME), max_length=50, required=False
    )


class DiscoveryPayload(serializers.Serializer):  # type: ignore[type-arg]
    hashtags = _words()
    keywords = _words()
    sources = _words()
    minFollowers = serializers.IntegerField(min_value=0, max_value=10**10, required=False)
    maxFollowers = serializers.IntegerField(min_value=0, max_value=10**10, required=False)
    maxCandidates = serializers.IntegerField(min_value=1, max_value=500, required=False)
    minScore = serializers.IntegerField(min_value=0, max_value=100, required=False)
    dryRun = serializers.BooleanField(required=False)
    checkCRM = serializers.BooleanField(required=False)
    # The old clients spell it checkCrm; the client sends checkCRM either way.
    checkCrm = serializers.BooleanField(required=False)


class SyncPayload(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.CharField(max_length=32, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False)


class ProbePayload(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.CharField(max_length=32)
    account = serializers.CharField(max_length=100, required=False, allow_blank=True)
    action = serializers.ChoiceField(choices=Action.values, required=False)
    chain = serializers.BooleanField(required=False)
