"""Task shapes in the PRD's camelCase, as the old scheduler API's clients expect them."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from scheduler import registry
from scheduler.models import FINAL_STATUSES, Task
from scheduler.selectors import display_state

MAX_PAGE = 1000  # the most rows one list request answers


class StrIdField(serializers.Field):  # type: ignore[type-arg]
    """Ids are strings in JSON."""

    def to_representation(self, value: Any) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> int:
        try:
            return int(data)
        except (TypeError, ValueError):
            raise serializers.ValidationError(f"{data!r} is not a task id") from None


class RequirementsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    soraCredits = serializers.IntegerField(min_value=0, required=False, default=0)
    platform = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    safariExclusive = serializers.BooleanField(required=False, default=False)


class TaskSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField(read_only=True)
    type = serializers.CharField()
    name = serializers.CharField()
    platform = serializers.CharField(allow_null=True)
    account = serializers.CharField()
    safariHost = serializers.CharField(source="safari_host")
    priority = serializers.IntegerField()
    scheduledFor = serializers.DateTimeField(source="scheduled_for")
    dependencies = serializers.SerializerMethodField()
    resourceRequirements = serializers.SerializerMethodField()
    status = serializers.CharField()
    display = serializers.SerializerMethodField()
    retryCount = serializers.IntegerField(source="retry_count")
    maxRetries = serializers.IntegerField(source="max_retries")
    attempt = serializers.IntegerField()
    payload = serializers.JSONField()
    result = serializers.JSONField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    waitReason = serializers.CharField(source="wait_reason", allow_null=True)
    idempotencyKey = serializers.CharField(source="idempotency_key", allow_null=True)
    cancelRequested = serializers.BooleanField(source="cancel_requested")
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="finished_at", allow_null=True)

    def to_representation(self, instance: Task) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        data["platform"] = instance.platform or None
        data["error"] = instance.error or None
        data["waitReason"] = instance.wait_reason or None
        return data

    def get_dependencies(self, task: Task) -> list[str]:
        return [str(dep.pk) for dep in task.dependencies.all()]

    def get_resourceRequirements(self, task: Task) -> dict[str, Any]:
        return {
            "soraCredits": task.req_sora_credits,
            "platform": task.req_platform or None,
            "safariExclusive": task.req_safari_exclusive,
        }

    def get_display(self, task: Task) -> dict[str, str]:
        state, detail = display_state(task)
        return {"state": state, "detail": detail}


class TaskCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    platform = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    account = serializers.CharField(required=False, allow_blank=True, default="")
    safariHost = serializers.CharField(required=False, allow_null=True)
    priority = serializers.IntegerField(required=False, min_value=1, max_value=5, default=3)
    scheduledFor = serializers.DateTimeField(required=False, allow_null=True)
    payload = serializers.DictField(required=False, default=dict)
    dependencies = serializers.ListField(child=StrIdField(), required=False, default=list)
    resourceRequirements = RequirementsSerializer(required=False)
    maxRetries = serializers.IntegerField(
        required=False, min_value=0, max_value=50, allow_null=True
    )
    idempotencyKey = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=200
    )

    def validate_type(self, value: str) -> str:
        if registry.task_type(value) is None:
            known = ", ".join(sorted(registry.task_types()))
            raise serializers.ValidationError(f"unknown task type {value!r}; known: {known}")
        return value


class TaskCreatedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    taskId = serializers.CharField()
    task = TaskSerializer()
    created = serializers.BooleanField()


class TaskEnvelopeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    task = TaskSerializer()


class QueueSerializer(serializers.Serializer):  # type: ignore[type-arg]
    queue = TaskSerializer(many=True)
    running = TaskSerializer(many=True)
    total = serializers.IntegerField()


class CompletedSerializer(serializers.Serializer):  # type: ignore[type-arg]
    completed = TaskSerializer(many=True)


class FinishedQuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """`?limit=20&status=failed,cancelled` of the finished-task list."""

    limit = serializers.IntegerField(min_value=0, max_value=MAX_PAGE, default=20)
    status = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)

    def validate_status(self, value: str) -> tuple[str, ...]:
        wanted = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        unknown = [part for part in wanted if part not in FINAL_STATUSES]
        if unknown:
            raise serializers.ValidationError(
                f"unknown status {', '.join(unknown)}; use {', '.join(FINAL_STATUSES)}"
            )
        return wanted or tuple(FINAL_STATUSES)


class StatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
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
    soraCredits = serializers.JSONField(allow_null=True)
    platforms = serializers.ListField(child=serializers.JSONField())
    demo = serializers.BooleanField()


class RescheduleSerializer(serializers.Serializer):  # type: ignore[type-arg]
    scheduledFor = serializers.DateTimeField()


class PauseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.CharField(required=False, allow_blank=True, default="")
    account = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class DecideSerializer(serializers.Serializer):  # type: ignore[type-arg]
    decision = serializers.CharField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class SuccessSerializer(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    message = serializers.CharField(required=False)
