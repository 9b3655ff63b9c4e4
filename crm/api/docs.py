"""Documentation of the CRM request bodies parsed by hand (the inbox sync by crm.sync_input,
which the CLI and crm.client share; the upsert's nested `fields`). Validation stays where it is;
these only document. Every other shape is nested in its API class."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers as S

from crm.api.serializers import ContactInputSerializer
from crm.models import Direction, Platform

_PLATFORM = S.ChoiceField(choices=Platform.choices)

ContactUpsertDoc = inline_serializer(
    "ContactUpsertDoc",
    {
        "platform": _PLATFORM,
        "username": S.CharField(max_length=150),
        "display_name": S.CharField(required=False, allow_null=True, max_length=200),
        "fields": ContactInputSerializer(required=False, partial=True),
    },
)


def _sync_messages() -> S.Serializer:  # type: ignore[type-arg]
    fields: dict[str, Any] = {
        "text": S.CharField(allow_blank=True),
        "direction": S.ChoiceField(choices=Direction.choices, required=False),
        "is_outbound": S.BooleanField(required=False),
        "sent_at": S.DateTimeField(allow_null=True),
        "id": S.CharField(required=False, max_length=200),
    }
    return inline_serializer("SyncMessageInput", fields, many=True, required=False)


def _sync_conversations() -> S.Serializer:  # type: ignore[type-arg]
    fields: dict[str, Any] = {
        "username": S.CharField(max_length=150),
        "display_name": S.CharField(required=False, allow_null=True, max_length=200),
        "shown_name": S.BooleanField(required=False),
        "messages": _sync_messages(),
    }
    return inline_serializer("SyncConversationInput", fields, many=True)


SyncInput = inline_serializer(
    "SyncInput", {"platform": _PLATFORM, "conversations": _sync_conversations()}
)
