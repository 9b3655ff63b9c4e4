"""The dm REST routes (the API convention: safari_auto/api.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dm import selectors, services
from dm.handlers import dm_client
from dm.models import MAX_DAILY_CAP, MAX_GAP_SECONDS, MAX_HOURLY_CAP, PlatformAccount
from dm.platforms import DM_PLATFORMS
from dm.serializers import ConversationOutput, PlatformOutput
from dm.syncing import conversations_named
from safari_auto import api
from safari_auto.api import NotFoundError, error
from safari_auto.bounds import MAX_ID
from safari_auto.http import ServiceError
from safari_auto.permissions import ViewerReadsOperatorWrites
from safari_auto.schema import ErrorSerializer
from scheduler import idempotency
from scheduler.api.serializers import TaskEnvelopeSerializer, TaskSerializer
from scheduler.api.views import client_name
from scheduler.services import task_decide

_DM_LIST = ", ".join(DM_PLATFORMS)


class DmSendApi(APIView):
    """POST /api/dm/send: queue a DM (a repeated idempotency key answers 200 with the first)."""

    permission_classes = [ViewerReadsOperatorWrites]

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        platform = serializers.ChoiceField(choices=DM_PLATFORMS)
        username = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )
        text = serializers.CharField(max_length=10_000)
        threadId = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, max_length=200
        )
        account = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=100
        )
        safariHost = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text="The Mac whose account sends it (default: this server's SAFARI_HOST)",
        )
        scheduledFor = serializers.DateTimeField(required=False, allow_null=True)
        priority = serializers.IntegerField(min_value=1, max_value=5, required=False, default=3)
        idempotencyKey = serializers.CharField(
            required=False, allow_blank=True, allow_null=True, max_length=150
        )

        def validate_safariHost(self, value: str) -> str:
            if value and value not in settings.SAFARI_HOSTS:
                hosts = ", ".join(settings.SAFARI_HOSTS)
                raise serializers.ValidationError(f"unknown Safari host {value!r} (one of {hosts})")
            return value

        def validate(self, attrs: dict) -> dict:  # type: ignore[type-arg]
            if not attrs.get("username") and not attrs.get("threadId"):
                raise serializers.ValidationError({"username": "name the recipient"})
            if attrs.get("threadId") and attrs["platform"] != "instagram":
                raise serializers.ValidationError(
                    {"threadId": "only Instagram replies by thread id"}
                )
            return attrs

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        success = serializers.BooleanField()
        taskId = serializers.CharField()
        task = TaskSerializer()
        created = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={201: OutputSerializer, 200: OutputSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        summary="Queue a DM on a platform (default account unless one is named)",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        key = data.get("idempotencyKey") or request.headers.get("Idempotency-Key") or None
        task, created = services.dm_send(
            platform=data["platform"],
            username=data.get("username") or "",
            text=data["text"],
            account=data.get("account") or "",
            host=data.get("safariHost") or None,
            scheduled_for=data.get("scheduledFor"),
            priority=data["priority"],
            idempotency_key=key,
            thread_id=data.get("threadId") or None,
            client=client_name(request),
            request_hash=idempotency.body_hash(dict(request.data)),
        )
        answer = {
            "success": True,
            "taskId": str(task.pk),
            "task": TaskSerializer(task).data,
            "created": created,
        }
        return Response(answer, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ConversationsApi(APIView):
    """GET /api/dm/conversations?platform=…: the service's conversation list, read live."""

    permission_classes = [ViewerReadsOperatorWrites]

    class QuerySerializer(api.QuerySerializer):
        """`?platform=` of the live conversation list."""

        platform = serializers.ChoiceField(
            choices=DM_PLATFORMS,
            error_messages={
                "required": f"platform is required: one of {_DM_LIST}",
                "invalid_choice": f"unknown dm platform '{{input}}'; use one of {_DM_LIST}",
            },
        )

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        platform = serializers.CharField()
        conversations = ConversationOutput(many=True)
        count = serializers.IntegerField()

    @extend_schema(
        parameters=[QuerySerializer],
        responses={
            200: OutputSerializer,
            502: OpenApiResponse(ErrorSerializer, description="the DM service failed"),
        },
        summary="Conversations on a platform, read through its DM service",
    )
    def get(self, request: Request) -> Response:
        platform = self.QuerySerializer.parse(request)["platform"]
        try:
            items = conversations_named(platform, dm_client().conversations(platform))
        except ServiceError as exc:
            return error(f"{platform} DM service: {exc}", status.HTTP_502_BAD_GATEWAY)
        return Response(
            self.OutputSerializer(
                {"platform": platform, "conversations": items, "count": len(items)}
            ).data
        )


class PlatformsApi(APIView):
    """GET /api/resources/platforms: live counts, cooldowns and readiness per account."""

    permission_classes = [ViewerReadsOperatorWrites]

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        platforms = PlatformOutput(many=True)

    @extend_schema(responses={200: OutputSerializer}, summary="Platforms: readiness and counts")
    def get(self, request: Request) -> Response:
        return Response({"platforms": selectors.platforms_status()})


class AccountApi(APIView):
    """PATCH /api/dm/accounts/<id>: limits, window, automation and pause."""

    permission_classes = [ViewerReadsOperatorWrites]

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        action = serializers.ChoiceField(choices=["dm", "comment"], required=False, default="dm")
        hourlyCap = serializers.IntegerField(min_value=0, max_value=MAX_HOURLY_CAP, required=False)
        dailyCap = serializers.IntegerField(min_value=0, max_value=MAX_DAILY_CAP, required=False)
        minGapSeconds = serializers.IntegerField(
            min_value=0, max_value=MAX_GAP_SECONDS, required=False
        )
        maxGapSeconds = serializers.IntegerField(
            min_value=0, max_value=MAX_GAP_SECONDS, required=False
        )
        activeStart = serializers.TimeField(required=False)
        activeEnd = serializers.TimeField(required=False)
        timezone = serializers.CharField(required=False, max_length=64)
        automation = serializers.BooleanField(required=False)
        paused = serializers.BooleanField(required=False)
        pauseReason = serializers.CharField(
            required=False, allow_blank=True, default="", max_length=300
        )
        clearCooldown = serializers.BooleanField(required=False, default=False)

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        success = serializers.BooleanField()
        account = PlatformOutput()

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer})
    def patch(self, request: Request, account_id: str) -> Response:
        account = PlatformAccount.objects.filter(pk=_int(account_id)).first()
        if account is None:
            raise NotFoundError(f"account {account_id} not found")
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        services.account_update(
            account=account,
            action=data["action"],
            hourly_cap=data.get("hourlyCap"),
            daily_cap=data.get("dailyCap"),
            min_gap_seconds=data.get("minGapSeconds"),
            max_gap_seconds=data.get("maxGapSeconds"),
            active_start=data.get("activeStart"),
            active_end=data.get("activeEnd"),
            tz=data.get("timezone"),
            automation=data.get("automation"),
            paused=data.get("paused"),
            pause_reason=data.get("pauseReason") or "",
            clear_cooldown=data["clearCooldown"],
        )
        account.refresh_from_db()
        item = selectors.account_status(account, action=data["action"])
        return Response({"success": True, "account": item})


class SendDecideApi(APIView):
    """POST /api/dm/sends/<task id>/decide {decision: sent|resend}."""

    permission_classes = [ViewerReadsOperatorWrites]

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        decision = serializers.ChoiceField(choices=["sent", "resend"])
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(request=InputSerializer, responses={200: TaskEnvelopeSerializer})
    def post(self, request: Request, task_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = task_decide(
            task_id=task_id,
            decision=body.validated_data["decision"],
            note=body.validated_data.get("note", ""),
        )
        return Response({"success": True, "task": TaskSerializer(task).data})


def _int(raw: str) -> int:
    try:
        pk = int(raw)
    except ValueError:
        raise ValidationError({"id": f"{raw!r} is not an account id"}) from None
    return pk if 1 <= pk <= MAX_ID else 0
