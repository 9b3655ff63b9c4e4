"""Shapes for the OpenAPI schema of the CRM routes whose bodies are parsed by hand (the sync,
the upsert) or answered as plain dicts. Validation stays where it is; these only document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers as S

from crm.api.serializers import (
    CampaignSerializer,
    ContactInputSerializer,
    ContactSerializer,
    ConversationSerializer,
    InteractionSerializer,
    MessageSerializer,
    PlatformAccountSerializer,
    SyncRunSerializer,
)
from crm.models import Direction, Platform

_PLATFORM = S.ChoiceField(choices=Platform.choices)

ContactPage = inline_serializer(
    "ContactPage",
    {
        "contacts": ContactSerializer(many=True),
        "total": S.IntegerField(),
        "limit": S.IntegerField(),
        "offset": S.IntegerField(),
    },
)
ContactDeleted = inline_serializer(
    "ContactDeleted", {"deleted": S.BooleanField(), "id": S.CharField()}
)
Tags = inline_serializer("Tags", {"tags": S.ListField(child=S.CharField())})
TagInput = inline_serializer("TagInput", {"tag": S.CharField(max_length=64)})
Interactions = inline_serializer("Interactions", {"interactions": InteractionSerializer(many=True)})
ContactUpsertDoc = inline_serializer(
    "ContactUpsertDoc",
    {
        "platform": _PLATFORM,
        "username": S.CharField(max_length=150),
        "display_name": S.CharField(required=False, allow_null=True, max_length=200),
        "fields": ContactInputSerializer(required=False, partial=True),
    },
)
DoNotContactOutput = inline_serializer(
    "DoNotContactOutput", {"contact_id": S.CharField(), "do_not_contact": S.BooleanField()}
)
ConversationPage = inline_serializer(
    "ConversationPage",
    {"conversations": ConversationSerializer(many=True), "total": S.IntegerField()},
)
ConversationState = inline_serializer(
    "ConversationState",
    {
        "contact_id": S.CharField(allow_null=True),
        "do_not_contact": S.BooleanField(),
        "has_inbound": S.BooleanField(),
        "last_outbound_at": S.DateTimeField(allow_null=True),
        "last_inbound_at": S.DateTimeField(allow_null=True),
    },
)
Messages = inline_serializer("Messages", {"messages": MessageSerializer(many=True)})
LoggedMessage = inline_serializer(
    "LoggedMessage",
    {
        **{name: field for name, field in MessageSerializer().get_fields().items()},
        "created": S.BooleanField(),
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
SyncOutput = inline_serializer(
    "SyncOutput",
    {
        "synced": S.BooleanField(),
        "contacts_created": S.IntegerField(),
        "contacts_updated": S.IntegerField(),
        "conversations_synced": S.IntegerField(),
        "messages_synced": S.IntegerField(),
        "sync_id": S.CharField(),
    },
)
SyncHistory = inline_serializer("SyncHistory", {"sync_history": SyncRunSerializer(many=True)})
Health = inline_serializer("CrmHealth", {"status": S.CharField(), "service": S.CharField()})
Stats = inline_serializer(
    "CrmStats",
    {
        "contacts": S.JSONField(),
        "conversations": S.JSONField(),
        "last_sync": S.JSONField(allow_null=True),
    },
)
Accounts = inline_serializer("Accounts", {"accounts": PlatformAccountSerializer(many=True)})
Campaigns = inline_serializer("Campaigns", {"campaigns": CampaignSerializer(many=True)})
CampaignSentInput = inline_serializer("CampaignSentInput", {"contact_id": S.CharField()})
Targets = inline_serializer(
    "Targets",
    {
        "targets": inline_serializer(
            "Target",
            {"contact": ContactSerializer(), "username": S.CharField(), "message": S.CharField()},
            many=True,
        )
    },
)
