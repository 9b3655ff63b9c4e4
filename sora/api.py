"""The Sora REST routes: thin views that parse, call one service or selector, and format."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safari_auto.permissions import ViewerReadsOperatorWrites
from scheduler import idempotency
from scheduler.api.views import client_key, client_name
from sora import importer, selectors, services, singles
from sora.serializers import (
    CreditsOutput,
    QueueTrilogyInput,
    QueueTrilogyOutput,
    QueueVideosInput,
    QueueVideosOutput,
    TrilogiesOutput,
    TrilogyImportInput,
    TrilogyImportOutput,
    trilogy_data,
)


class CreditsApi(APIView):
    """GET /api/resources/sora and GET /api/sora/credits."""

    permission_classes = [ViewerReadsOperatorWrites]

    @extend_schema(responses={200: CreditsOutput})
    def get(self, request: Request) -> Response:
        return Response(selectors.credits_summary(now=timezone.now()))


class QueueVideosApi(APIView):
    """POST /api/sora/videos: queue single videos; each waits for a credit of its own."""

    permission_classes = [ViewerReadsOperatorWrites]

    @extend_schema(
        request=QueueVideosInput, responses={201: QueueVideosOutput, 200: QueueVideosOutput}
    )
    def post(self, request: Request) -> Response:
        data = QueueVideosInput(data=request.data)
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

    @extend_schema(
        request=QueueTrilogyInput, responses={201: QueueTrilogyOutput, 200: QueueTrilogyOutput}
    )
    def post(self, request: Request) -> Response:
        data = QueueTrilogyInput(data=request.data)
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

    @extend_schema(responses={200: TrilogiesOutput})
    def get(self, request: Request) -> Response:
        return Response({"trilogies": [trilogy_data(t) for t in selectors.trilogy_list()]})

    @extend_schema(
        request=TrilogyImportInput,
        responses={
            201: OpenApiResponse(TrilogyImportOutput, description="something was created"),
            200: OpenApiResponse(TrilogyImportOutput, description="nothing new"),
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
