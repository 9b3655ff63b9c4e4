"""OpenAPI details drf-spectacular cannot guess: the task types a client may create, read
from the registry when the schema is generated (after every app registered its types)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from scheduler import registry


class TaskTypeFieldExtension(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    target_class = "scheduler.api.serializers.TaskTypeField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "enum": sorted(registry.client_task_types()), "maxLength": 32}
