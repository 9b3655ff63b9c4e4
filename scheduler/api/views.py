"""The scheduler's REST API at the PRD's paths (the API convention: safari_auto/api.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from safari_auto import api
from safari_auto.api import error
from safari_auto.permissions import ViewerReadsOperatorWrites
from safari_auto.schema import NO_INPUT
from scheduler import idempotency, selectors, services, taskinput
from scheduler.api import schema  # noqa: F401  (registers the task type's OpenAPI enum)
from scheduler.api.serializers import (
    ERROR_SCHEMA,
    MAX_OFFSET,
    MAX_PAGE,
    FinishedQuerySerializer,
    PauseSerializer,
    SuccessSerializer,
    TaskCreateSerializer,
    TaskEnvelopeSerializer,
    TaskSerializer,
    with_dependency_ids,
)
from scheduler.models import Task


def _with_deps(rows: Any) -> Any:
    return rows.prefetch_related(Prefetch("dependencies", queryset=Task.objects.only("id")))


def _task_answer(task: Task, code: int = status.HTTP_200_OK) -> Response:
    return Response({"success": True, "task": TaskSerializer(task).data}, status=code)


def client_name(request: Request) -> str:
    """Whose namespace a client's idempotency keys live in."""
    return f"user:{request.user.pk}"


def client_key(request: Request, field: str | None) -> str | None:
    """The client's idempotency key (field or header) in its user's namespace, for services
    that take a finished key (task creation namespaces keys itself, from `client`)."""
    raw = field or request.headers.get("Idempotency-Key") or None
    if raw is None:
        return None
    taskinput.check_text("idempotencyKey", raw, max_length=150)
    return idempotency.client_key(owner=client_name(request), key=raw)


class StatusApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        isRunning = serializers.BooleanField()
        isPaused = serializers.BooleanField()
        pauseReason = serializers.CharField(allow_null=True)
        isStopped = serializers.BooleanField()
        leader = serializers.CharField(allow_null=True)
        startedAt = serializers.DateTimeField(allow_null=True)
        tasksInQueue = serializers.IntegerField()
        tasksRunning = serializers.IntegerField()
        tasksCompleted = serializers.IntegerField()
        tasksFailed = serializers.IntegerField()
        tasksBlocked = serializers.IntegerField()
        safariHosts = serializers.ListField(
            child=serializers.JSONField(),
            help_text="Each Safari host's workers: host, state (online, offline, stopped, "
            "unknown), since, and the reason its tasks wait",
        )
        soraCredits = serializers.JSONField(allow_null=True)
        platforms = serializers.ListField(child=serializers.JSONField())
        demo = serializers.BooleanField()

    @extend_schema(responses=OutputSerializer, summary="Scheduler state and counts")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.scheduler_state()).data)


class QueueApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    class QuerySerializer(api.QuerySerializer):
        """`?limit=200&offset=0` of the queue."""

        limit = serializers.IntegerField(min_value=0, max_value=MAX_PAGE, default=200)
        offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        queue = TaskSerializer(many=True)
        running = TaskSerializer(many=True)
        total = serializers.IntegerField()

    @extend_schema(
        responses=OutputSerializer,
        parameters=[QuerySerializer],
        summary="Queued (pending, scheduled, blocked) and running tasks",
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer.parse(request)
        limit, offset = query["limit"], query["offset"]
        queue = selectors.task_queue()
        page = list(queue[offset : offset + limit])
        running = list(selectors.task_running())
        with_dependency_ids([*page, *running])  # one query for both lists
        # A page that ends before the limit ends the queue: its end is the count.
        short = 0 < len(page) < limit or (offset == 0 and not page and limit > 0)
        return Response(
            {
                "queue": TaskSerializer(page, many=True).data,
                "running": TaskSerializer(running, many=True).data,
                "total": offset + len(page) if short else queue.count(),
            }
        )


class RunningApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        running = TaskSerializer(many=True)

    @extend_schema(
        responses=OutputSerializer,
        summary="Running tasks",
    )
    def get(self, request: Request) -> Response:
        rows = _with_deps(selectors.task_running())
        return Response({"running": TaskSerializer(rows, many=True).data})


class CompletedApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    QuerySerializer = FinishedQuerySerializer

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        completed = TaskSerializer(many=True)

    @extend_schema(
        responses=OutputSerializer,
        parameters=[QuerySerializer],
        summary="Finished tasks (completed, failed, cancelled), newest first",
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer.parse(request)
        finished = selectors.task_finished(statuses=query["status"], limit=query["limit"])
        rows = _with_deps(Task.objects.filter(pk__in=finished))
        ordered = sorted(rows, key=lambda t: (t.finished_at, t.pk), reverse=True)
        return Response({"completed": TaskSerializer(ordered, many=True).data})


class TaskCreateApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    InputSerializer = TaskCreateSerializer

    class OutputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        success = serializers.BooleanField()
        taskId = serializers.CharField()
        task = TaskSerializer()
        created = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            200: OutputSerializer,
            400: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
        },
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        summary="Schedule a task (a repeated idempotency key answers 200 with the first)",
        description=(
            "Creates a task of a client-creatable type. `platform` is required for dm, "
            "comment, discovery and sync, and must be a platform that type runs on. The "
            "payload is checked against the type's needs; a missing or wrong field answers "
            "400 `{success:false, error, fields}` naming it. An idempotency key (field or "
            "header) belongs to the user and to the request body: the same key with the same "
            "body answers 200 with the first task; with a different body, 409."
        ),
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        key = data.get("idempotencyKey") or request.headers.get("Idempotency-Key") or None
        task, created = services.task_schedule(
            client=client_name(request),
            request_hash=idempotency.body_hash(dict(request.data)),
            type=data["type"],
            name=data.get("name") or "",
            platform=data.get("platform") or "",
            account=data.get("account") or "",
            safari_host=data.get("safariHost"),
            priority=data["priority"],
            scheduled_for=data.get("scheduledFor"),
            payload=data.get("payload") or {},
            dependencies=data.get("dependencies") or [],
            requirements=data.get("resourceRequirements"),
            max_retries=data.get("maxRetries"),
            idempotency_key=key,
        )
        # A task this request created has the dependencies it asked for: none, or a query.
        with_dependency_ids([task], known_none=created and not data.get("dependencies"))
        return Response(
            {
                "success": True,
                "taskId": str(task.pk),
                "task": TaskSerializer(task).data,
                "created": created,
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class TaskDetailApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    OutputSerializer = TaskEnvelopeSerializer

    class RescheduleInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        scheduledFor = serializers.DateTimeField()

    @extend_schema(responses=OutputSerializer, summary="One task")
    def get(self, request: Request, task_id: str) -> Response:
        task = selectors.task_get(task_id=task_id)
        if task is None:
            return error(f"task {task_id} not found", status.HTTP_404_NOT_FOUND)
        return _task_answer(task)

    @extend_schema(responses=OutputSerializer, summary="Cancel a task")
    def delete(self, request: Request, task_id: str) -> Response:
        return _task_answer(services.task_cancel(task_id=task_id, reason="cancelled via API"))

    @extend_schema(
        request=RescheduleInputSerializer,
        responses=OutputSerializer,
        summary="Reschedule a queued task",
    )
    def patch(self, request: Request, task_id: str) -> Response:
        if selectors.task_get(task_id=task_id) is None:
            return error(f"task {task_id} not found", status.HTTP_404_NOT_FOUND)
        body = self.RescheduleInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        when = body.validated_data["scheduledFor"]
        return _task_answer(services.task_reschedule(task_id=task_id, when=when))


class TaskRetryApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    OutputSerializer = TaskEnvelopeSerializer

    @extend_schema(
        request=NO_INPUT,
        responses=OutputSerializer,
        summary="Run a failed or cancelled task again",
    )
    def post(self, request: Request, task_id: str) -> Response:
        return _task_answer(services.task_retry(task_id=task_id))


class TaskDecideApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    OutputSerializer = TaskEnvelopeSerializer

    class InputSerializer(serializers.Serializer):  # type: ignore[type-arg]
        decision = serializers.CharField(max_length=32)
        note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Decide a blocked task (e.g. a send: 'sent' or 'resend')",
    )
    def post(self, request: Request, task_id: str) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        task = services.task_decide(
            task_id=task_id,
            decision=body.validated_data["decision"],
            note=body.validated_data.get("note", ""),
        )
        return _task_answer(task)


class PauseApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    InputSerializer = PauseSerializer
    OutputSerializer = SuccessSerializer

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Pause the scheduler, a platform or an account (persisted)",
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        pause = services.scheduler_pause(**body.validated_data)
        return Response({"success": True, "message": str(pause)})


class ResumeApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    InputSerializer = PauseSerializer
    OutputSerializer = SuccessSerializer

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="Lift a user pause")
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        lifted = services.scheduler_resume(platform=data["platform"], account=data["account"])
        return Response({"success": True, "message": f"lifted {lifted} pause(s)"})


class StartApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    OutputSerializer = SuccessSerializer

    @extend_schema(request=NO_INPUT, responses=OutputSerializer, summary="Lift a stop and pause")
    def post(self, request: Request) -> Response:
        services.scheduler_start()
        return Response({"success": True, "message": "started"})


class StopApi(APIView):
    permission_classes = [ViewerReadsOperatorWrites]

    OutputSerializer = SuccessSerializer

    @extend_schema(
        request=NO_INPUT,
        responses=OutputSerializer,
        summary="Pause and ask running tasks to stop (they go back to pending)",
    )
    def post(self, request: Request) -> Response:
        asked = services.scheduler_stop()
        return Response(
            {"success": True, "message": f"stopped; {asked} running task(s) asked to stop"}
        )
