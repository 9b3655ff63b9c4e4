"""The Sora REST routes (the API convention: safari_auto/api.py)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safari_auto.permissions import ViewerReadsOperatorWrites
from scheduler import idempotency
from scheduler.api.views import client_key, client_name
from scheduler.taskinput import MAX_SORA_CREDITS
from sora import importer, selectors, services, singles
from sora.serializers import CreditsBody, TrilogyShape, VideoItem, trilogy_data


class _Queued(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    taskIds = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()


class CreditsApi(APIView):
    """GET /api/resources/sora and GET /api/sora/credits."""

    permission_classes = [ViewerReadsOperatorWrites]

    class OutputSerializer(serializers.Serializer[Any]):
        credits = CreditsBody()
        timeUntilRefresh = serializers.CharField(allow_null=True, help_text='e.g. "4h 23m"')

    @extend_schema(responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        return Response(selectors.credits_summary(now=timezone.now()))


class QueueVideosApi(APIView):
    """POST /api/sora/videos: queue single videos; each waits for a credit of its own (the
    PRD's queueVideosOnRefresh)."""

    permission_classes = [ViewerReadsOperatorWrites]

    class InputSerializer(serializers.Serializer[Any]):
        videos = serializers.ListField(child=VideoItem(), min_length=1, max_length=100)
        priority = serializers.IntegerField(required=False, default=2, min_value=1, max_value=5)
        idempotencyKey = serializers.CharField(
            max_length=150, required=False, allow_blank=True, allow_null=True
        )

    class OutputSerializer(_Queued):
        taskId = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body: dict[str, Any] = data.validated_data
        queued = singles.videos_queue(
            videos=body["videos"],
            priority=body["priority"],
            client=client_name(request),
            idempotency_key=body.get("idempotencyKey")
            or request.headers.get("Idempotency-Key")
            or None,
            request_hash=idempotency.body_hash(dict(request.data)),
        )
        ids = [str(task.pk) for task, _ in queued]
        fresh = sum(1 for _, created in queued if created)
        answer = {
            "success": True,
            "taskIds": ids,
            "taskId": ids[0],
            "message": f"{fresh} video(s) queued; each starts when a Sora credit is free",
        }
        code = status.HTTP_201_CREATED if fresh else status.HTTP_200_OK
        return Response(answer, status=code)


class QueueTrilogyApi(APIView):
    """POST /api/sora/queue-trilogy: one task per part, chained, gated on all its credits."""

    permission_classes = [ViewerReadsOperatorWrites]

    class InputSerializer(serializers.Serializer[Any]):
        trilogyId = serializers.CharField(max_length=100)
        trilogyName = serializers.CharField(max_length=200, required=False, allow_blank=True)
        waitForCredits = serializers.IntegerField(
            required=False, default=3, min_value=0, max_value=MAX_SORA_CREDITS
        )
        priority = serializers.IntegerField(required=False, default=2, min_value=1, max_value=5)
        idempotencyKey = serializers.CharField(
            max_length=150, required=False, allow_blank=True, allow_null=True
        )

    class OutputSerializer(_Queued):
        taskId = serializers.CharField(allow_null=True)
        runId = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        body: dict[str, Any] = data.validated_data
        key = client_key(request, body.get("idempotencyKey"))
        result = services.trilogy_queue(
            slug=body["trilogyId"],
            label=body.get("trilogyName") or "",
            wait_for_credits=body["waitForCredits"],
            priority=body["priority"],
            idempotency_key=key,
        )
        ids = [str(pk) for pk in result.task_ids]
        answer = {
            "success": True,
            "taskIds": ids,
            "taskId": ids[0] if ids else None,
            "runId": str(result.run.pk),
            "message": result.message,
        }
        return Response(
            answer, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class TrilogiesApi(APIView):
    """GET the trilogies; POST one trilogy or a whole batch (CONTRACTS.md format)."""

    permission_classes = [ViewerReadsOperatorWrites]

    class ListOutputSerializer(serializers.Serializer[Any]):
        trilogies = TrilogyShape(many=True)

    class ImportInputSerializer(serializers.Serializer[Any]):
        """A batch file or one trilogy. Documentation only: `sora.importer` is the one parser
        (it also reads batch files), all or nothing."""

        generatedAt = serializers.DateTimeField(required=False)
        character = serializers.CharField(max_length=200, required=False, allow_blank=True)
        trilogies = TrilogyShape(many=True)

    class ImportOutputSerializer(serializers.Serializer[Any]):
        success = serializers.BooleanField()
        created = serializers.ListField(child=serializers.CharField())
        updated = serializers.ListField(child=serializers.CharField())
        message = serializers.CharField()

    @extend_schema(responses={200: ListOutputSerializer})
    def get(self, request: Request) -> Response:
        return Response({"trilogies": [trilogy_data(t) for t in selectors.trilogy_list()]})

    @extend_schema(
        request=ImportInputSerializer,
        responses={
            201: OpenApiResponse(ImportOutputSerializer, description="something was created"),
            200: OpenApiResponse(ImportOutputSerializer, description="nothing new"),
        },
    )
    def post(self, request: Request) -> Response:
        result = importer.batch_import(data=request.data, source="api")
        return Response(
            {
                "success": True,
                "created": result.created,
                "updated": result.updated,
                "message": result.message,
            },
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
