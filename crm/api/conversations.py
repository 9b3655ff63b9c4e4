"""Conversations, messages, message logging and the DM sync (the API convention:
safari_auto/api.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework import serializers as S
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors
from crm.api import docs
from crm.api.common import CrmView, found, pk_or_404
from crm.api.queries import ConversationListQuery, ConversationStateQuery, LimitQuery
from crm.api.serializers import (
    ConversationSerializer,
    MessageLogInputSerializer,
    MessageSerializer,
    SyncRunSerializer,
)
from crm.sync import dm_sync, message_log
from crm.sync_input import SyncInputError, parse_sync


class ConversationListApi(CrmView):
    QuerySerializer = ConversationListQuery

    class OutputSerializer(S.Serializer[Any]):
        conversations = ConversationSerializer(many=True)
        total = S.IntegerField()

    @extend_schema(parameters=[QuerySerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer.parse(request)
        page = selectors.conversation_list(
            platform=query.get("platform"),
            contact_id=query.get("contact_id"),
            active=query["active"],
            limit=query["limit"],
            offset=query["offset"],
        )
        data = ConversationSerializer(page.items, many=True).data
        return Response({"conversations": data, "total": page.total})


class ConversationStateApi(CrmView):
    """GET /api/conversations/state?platform=&username= : what the outreach guards need."""

    QuerySerializer = ConversationStateQuery

    class OutputSerializer(S.Serializer[Any]):
        contact_id = S.CharField(allow_null=True)
        do_not_contact = S.BooleanField()
        has_inbound = S.BooleanField()
        last_outbound_at = S.DateTimeField(allow_null=True)
        last_inbound_at = S.DateTimeField(allow_null=True)

    @extend_schema(parameters=[QuerySerializer], responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer.parse(request)
        return Response(selectors.conversation_state(**query))


class ConversationMessagesApi(CrmView):
    QuerySerializer = LimitQuery

    class OutputSerializer(S.Serializer[Any]):
        messages = MessageSerializer(many=True)

    @extend_schema(parameters=[QuerySerializer], responses=OutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        conversation = found(
            selectors.conversation_get(conversation_id=pk_or_404(pk, "conversation")),
            "conversation",
            pk,
        )
        limit = self.QuerySerializer.parse(request)["limit"]
        messages = selectors.message_list(conversation=conversation, limit=limit)
        return Response({"messages": MessageSerializer(messages, many=True).data})


class MessageLogApi(CrmView):
    """POST /api/messages: log one message (crm.client's message_log); 201 new, 200 known."""

    InputSerializer = MessageLogInputSerializer

    class OutputSerializer(MessageSerializer):
        created = S.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["service_id"] = data.get("service_id") or None
        message, created = message_log(**data)
        body = {**MessageSerializer(message).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SyncDmApi(CrmView):
    """GET the sync history; POST one inbox sync (parsed by crm.sync_input, which the CLI and
    crm.client share; `docs.SyncInput` documents it)."""

    HistoryQuerySerializer = LimitQuery

    class HistoryOutputSerializer(S.Serializer[Any]):
        sync_history = SyncRunSerializer(many=True)

    class SyncOutputSerializer(S.Serializer[Any]):
        synced = S.BooleanField()
        contacts_created = S.IntegerField()
        contacts_updated = S.IntegerField()
        conversations_synced = S.IntegerField()
        messages_synced = S.IntegerField()
        sync_id = S.CharField()

    @extend_schema(parameters=[HistoryQuerySerializer], responses=HistoryOutputSerializer)
    def get(self, request: Request) -> Response:
        limit = self.HistoryQuerySerializer.parse(request)["limit"]
        runs = selectors.sync_history(limit=limit)
        return Response({"sync_history": SyncRunSerializer(runs, many=True).data})

    @extend_schema(request=docs.SyncInput, responses=SyncOutputSerializer)
    def post(self, request: Request) -> Response:
        try:
            platform, conversations = parse_sync(request.data)
        except SyncInputError as exc:
            raise exceptions.ValidationError(str(exc)) from None
        counts, run = dm_sync(platform=platform, conversations=conversations)
        return Response({"synced": True, **vars(counts), "sync_id": str(run.pk)})
