"""Task shapes in the PRD's camelCase, as the old scheduler API's clients expect them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from safari_auto.api import QuerySerializer
from scheduler import idempotency, registry, taskinput
from scheduler.models import FINAL_STATUSES, Task
from scheduler.selectors import display_state

MAX = taskinput.MAX_LENGTHS
MAX_PAGE = 1000  # the most rows one list request answers
MAX_OFFSET = 10**9


@extend_schema_field({"type": "string", "pattern": "^[0-9]+$", "maxLength": 19})
class StrIdField(serializers.Field):  # type: ignore[type-arg]
    """Ids are strings in JSON."""

    def to_representation(self, value: Any) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            raise serializers.ValidationError(f"{data!r} is not a task id")
        try:
            number = int(data)
        except (TypeError, ValueError, OverflowError):
            raise serializers.ValidationError(f"{data!r} is not a task id") from None
        if not 1 <= number <= taskinput.MAX_TASK_ID:
            raise serializers.ValidationError(f"{data!r} is not a task id")
        return number


class RequirementsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    soraCredits = serializers.IntegerField(
        min_value=0, max_value=taskinput.MAX_SORA_CREDITS, required=False, default=0
    )
    platform = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX["platform"]
    )
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

    # The fields above are the shape (and the OpenAPI schema); `to_representation` writes it
    # by hand: DRF's field-by-field walk (a deep copy of 24 fields per serializer, a lookup
    # per attribute) cost most of a queue read's CPU. tests/integration/test_task_shape.py
    # pins it to DRF's own rendering of these fields.
    def to_representation(self, instance: Task) -> dict[str, Any]:
        task = instance
        zone = timezone.get_current_timezone()
        state, detail = display_state(task)
        scrub = taskinput.scrub
        return {
            "id": str(task.pk),
            "type": task.type,
            "name": scrub(task.name),
            "platform": task.platform or None,
            "account": task.account,
            "safariHost": task.safari_host,
            "priority": task.priority,
            "scheduledFor": _when(task.scheduled_for, zone),
            "dependencies": self.get_dependencies(task),
            "resourceRequirements": self.get_resourceRequirements(task),
            "status": task.status,
            "display": {"state": state, "detail": detail},
            "retryCount": task.retry_count,
            "maxRetries": task.max_retries,
            "attempt": task.attempt,
            "payload": scrub(task.payload),
            "result": scrub(task.result),
            "error": scrub(task.error or None),
            "waitReason": scrub(task.wait_reason or None),
            "idempotencyKey": idempotency.public_key(task.idempotency_key),
            "cancelRequested": _FLAG.to_representation(task.cancel_requested),
            "createdAt": _when(task.created_at, zone),
            "startedAt": _when(task.started_at, zone),
            "completedAt": _when(task.finished_at, zone),
        }

    def get_dependencies(self, task: Task) -> list[str]:
        ids = getattr(task, DEPENDENCY_IDS, None)  # set for a whole page by `with_dependency_ids`
        if ids is not None:
            return [str(pk) for pk in ids]
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


DEPENDENCY_IDS = "_dependency_ids"
TASK_ORDER = ("priority", "scheduled_for", "created_at", "id")  # Task.Meta.ordering
# "cancel" or "requeue" is True and "" False, as DRF reads them.
_FLAG: Any = serializers.BooleanField()


def with_dependency_ids(tasks: Iterable[Task], *, known_none: bool = False) -> list[Task]:
    """The tasks, each with its dependencies' ids (in the model's order, as
    `task.dependencies.all()` gives them) from one query of the link table, for
    `TaskSerializer`: no model instance and no queryset per task, as a prefetch makes.
    `known_none`: the caller knows they have none (a task it just created without any), so
    no query is made."""
    rows = list(tasks)
    ids: dict[int, list[int]] = {task.pk: [] for task in rows}
    if ids and not known_none:
        link = Task.dependencies.through.objects.filter(from_task_id__in=list(ids))
        order = [f"to_task__{field}" for field in TASK_ORDER]
        for task_id, dep_id in link.order_by(*order).values_list("from_task_id", "to_task_id"):
            ids[task_id].append(dep_id)
    for task in rows:
        setattr(task, DEPENDENCY_IDS, ids[task.pk])
    return rows


def _when(value: datetime | None, zone: tzinfo) -> str | None:
    """A time as DRF's DateTimeField writes it: ISO 8601 in the current zone, UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


PLATFORM_HELP = (
    "Required for dm, comment, discovery and sync, and one of the platforms the type runs "
    "on: dm, discovery and sync on instagram, tiktok or twitter; comment also on threads."
)
TYPE_HELP = (
    "A client-creatable task type: check, dm, comment, discovery, sync or sora. The internal "
    "types (webhook, cleanup, probe, sora_check) are refused with 400: the system makes them."
)
PAYLOAD_HELP = (
    "Checked against the type's needs: dm {text, username | threadId}; comment {postUrl, "
    "text}; discovery {hashtags?, keywords?, sources?, minFollowers?, maxFollowers?, "
    "maxCandidates?, minScore?, dryRun?, checkCRM?}; sync {limit?}; sora {prompt, title?}; "
    "check {seconds?, fail?, permanent?}. Strings must be valid Unicode without NUL."
)


class TaskTypeField(serializers.CharField):
    """A task type's name; the schema lists the client-creatable ones (see `schema.py`)."""


class TaskCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = TaskTypeField(max_length=32, help_text=TYPE_HELP)
    name = serializers.CharField(
        required=False, allow_blank=True, max_length=MAX["name"], default=""
    )
    platform = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX["platform"],
        help_text=PLATFORM_HELP,
    )  # fmt: skip
    account = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX["account"]
    )
    safariHost = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=MAX["safariHost"],
        help_text="The Mac it must run on, or 'any' (unpinned: the first free online host). "
        "Default: 'any' when several hosts are configured, else the only one.",
    )
    priority = serializers.IntegerField(required=False, min_value=1, max_value=5, default=3)
    scheduledFor = serializers.DateTimeField(required=False, allow_null=True)
    payload = serializers.DictField(required=False, default=dict, help_text=PAYLOAD_HELP)
    dependencies = serializers.ListField(
        child=StrIdField(),
        required=False,
        default=list,
        max_length=taskinput.MAX_DEPENDENCIES,
    )
    resourceRequirements = RequirementsSerializer(required=False)
    maxRetries = serializers.IntegerField(
        required=False, min_value=0, max_value=taskinput.MAX_RETRIES, allow_null=True
    )
    idempotencyKey = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=150
    )

    def validate_type(self, value: str) -> str:
        task_type = registry.task_type(value)
        if task_type is None:
            known = ", ".join(sorted(registry.client_task_types()))
            raise serializers.ValidationError(f"unknown task type {value!r}; known: {known}")
        if not task_type.client_creatable:
            raise serializers.ValidationError(
                f"{value!r} tasks are internal: the system creates them itself"
            )
        return value


# An error answer (raw schema: a serializer cannot have a field called `fields`).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "error": {"type": "string", "description": "What was wrong, naming the field."},
        "fields": {"type": "object", "description": "Messages by field name."},
    },
    "required": ["success", "error"],
}


class TaskEnvelopeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    task = TaskSerializer()


class FinishedQuerySerializer(QuerySerializer):
    """`?limit=20&status=failed,cancelled` of the finished-task list."""

    limit = serializers.IntegerField(min_value=0, max_value=MAX_PAGE, default=20)
    status = serializers.CharField(
        required=False,
        default="",
        allow_blank=True,
        max_length=100,
        help_text="Comma-separated: completed, failed, cancelled (default: all three)",
    )

    def validate_status(self, value: str) -> tuple[str, ...]:
        wanted = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        unknown = [part for part in wanted if part not in FINAL_STATUSES]
        if unknown:
            raise serializers.ValidationError(
                f"unknown status {', '.join(unknown)}; use {', '.join(FINAL_STATUSES)}"
            )
        return wanted or tuple(FINAL_STATUSES)


class PauseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    platform = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX["platform"]
    )
    account = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX["account"]
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class SuccessSerializer(serializers.Serializer):  # type: ignore[type-arg]
    success = serializers.BooleanField()
    message = serializers.CharField(required=False)
