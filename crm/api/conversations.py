"""Conversations, messages, message logging and the DM sync."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
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


class ConversationsView(CrmView):
    @extend_schema(parameters=[ConversationListQuery], responses=docs.ConversationPage)
    def get(self, request: Request) -> Response:
        query = ConversationListQuery.parse(request)
        page = selectors.conversation_list(
            platform=query.get("platform"),
            contact_id=query.get("contact_id"),
            active=query["active"],
            limit=query["limit"],
            offset=query["offset"],
        )
        data = ConversationSerializer(page.items, many=True).data
        return Response({"conversations": data, "total": page.total})


class ConversationStateView(CrmView):
    """GET /api/conversations/state?platform=&username= : what the outreach guards need."""

    @extend_schema(parameters=[ConversationStateQuery], responses=docs.ConversationState)
    def get(self, request: Request) -> Response:
        query = ConversationStateQuery.parse(request)
        return Response(selectors.conversation_state(**query))


class ConversationMessagesView(CrmView):
    @extend_schema(parameters=[LimitQuery], responses=docs.Messages)
    def get(self, request: Request, pk: str) -> Response:
        conversation = found(
            selectors.conversation_get(conversation_id=pk_or_404(pk, "conversation")),
            "conversation",
            pk,
        )
        limit = LimitQuery.parse(request)["limit"]
        messages = selectors.message_list(conversation=conversation, limit=limit)
        return Response({"messages": MessageSerializer(messages, many=True).data})


class MessagesView(CrmView):
    """POST /api/messages: log one message (crm.client's message_log); 201 new, 200 known."""

    @extend_schema(
        request=MessageLogInputSerializer,
        responses={201: docs.LoggedMessage, 200: docs.LoggedMessage},
    )
    def post(self, request: Request) -> Response:
        serializer = MessageLogInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["service_id"] = data.get("service_id") or None
        message, created = message_log(**data)
        body = {**MessageSerializer(message).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SyncDmView(CrmView):
    @extend_schema(parameters=[LimitQuery], responses=docs.SyncHistory)
    def get(self, request: Request) -> Response:
        limit = LimitQuery.parse(request)["limit"]
        runs = selectors.sync_history(limit=limit)
        return Response({"sync_history": SyncRunSerializer(runs, many=True).data})

    @extend_schema(request=docs.SyncInput, responses=docs.SyncOutput)
    def post(self, request: Request) -> Response:
        try:
            platform, conversations = parse_sync(request.data)
        except SyncInputError as exc:
            raise exceptions.ValidationError(str(exc)) from None
        counts, run = dm_sync(platform=platform, conversations=conversations)
        return Response({"synced": True, **vars(counts), "sync_id": str(run.pk)})
