"""Conversations, messages, message logging and the DM sync."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors
from crm.api.common import (
    CrmView,
    bad,
    bool_param,
    choice_param,
    found,
    int_param,
    paging,
    pk_or_404,
)
from crm.api.serializers import (
    ConversationSerializer,
    MessageLogInputSerializer,
    MessageSerializer,
    SyncRunSerializer,
)
from crm.models import Platform
from crm.sync import dm_sync, message_log
from crm.sync_input import SyncInputError, parse_sync


class ConversationsView(CrmView):
    def get(self, request: Request) -> Response:
        limit, offset = paging(request)
        contact_id = request.query_params.get("contact_id")
        page = selectors.conversation_list(
            platform=choice_param(request, "platform", Platform.values),
            contact_id=int_param(request, "contact_id", None) if contact_id else None,
            active=bool_param(request, "active"),
            limit=limit,
            offset=offset,
        )
        data = ConversationSerializer(page.items, many=True).data
        return Response({"conversations": data, "total": page.total})


class ConversationStateView(CrmView):
    """GET /api/conversations/state?platform=&username= : what the outreach guards need."""

    def get(self, request: Request) -> Response:
        platform = choice_param(request, "platform", Platform.values)
        username = request.query_params.get("username", "").strip()
        if not platform:
            raise bad("platform", "required")
        if not username:
            raise bad("username", "required")
        return Response(selectors.conversation_state(platform=platform, username=username))


class ConversationMessagesView(CrmView):
    def get(self, request: Request, pk: str) -> Response:
        conversation = found(
            selectors.conversation_get(conversation_id=pk_or_404(pk, "conversation")),
            "conversation",
            pk,
        )
        limit = int_param(request, "limit", 50, low=1, high=500) or 50
        messages = selectors.message_list(conversation=conversation, limit=limit)
        return Response({"messages": MessageSerializer(messages, many=True).data})


class MessagesView(CrmView):
    """POST /api/messages: log one message (crm.client's message_log); 201 new, 200 known."""

    def post(self, request: Request) -> Response:
        serializer = MessageLogInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["service_id"] = data.get("service_id") or None
        message, created = message_log(**data)
        body = {**MessageSerializer(message).data, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SyncDmView(CrmView):
    def get(self, request: Request) -> Response:
        limit = int_param(request, "limit", 50, low=1, high=500) or 50
        runs = selectors.sync_history(limit=limit)
        return Response({"sync_history": SyncRunSerializer(runs, many=True).data})

    def post(self, request: Request) -> Response:
        try:
            platform, conversations = parse_sync(request.data)
        except SyncInputError as exc:
            raise exceptions.ValidationError(str(exc)) from None
        counts, run = dm_sync(platform=platform, conversations=conversations)
        return Response({"synced": True, **vars(counts), "sync_id": str(run.pk)})
