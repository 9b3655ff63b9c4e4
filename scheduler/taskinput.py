"""What task creation accepts, on every front (API, dashboard, CLI) and for the system itself.

Bounds match the database (column lengths, integer ranges) and Python (datetime years), so a
creation either fails here with a message naming the field or is written whole: nothing
reaches the database that Postgres would refuse (a 500) or that would make every later read
of the queue fail (a lone surrogate in a payload). Each task type says whether clients may
create it and what its payload needs (`TaskType.client_creatable`, `TaskType.payload`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError

from scheduler.registry import TaskType

# Integer and size bounds of task creation (CONTRACTS.md, POST /api/scheduler/task).
MAX_TASK_ID = 2**63 - 1  # BigAutoField
MAX_DEPENDENCIES = 100
MAX_RETRIES = 50
MAX_SORA_CREDITS = 1000
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_PAYLOAD_DEPTH = 8
# Column lengths of scheduler.models.Task.
MAX_LENGTHS = {"name": 200, "platform": 32, "account": 100, "safariHost": 100}
MAX_KEY_LENGTH = 200
# Times: not before 2000, not more than ten years ahead.
EARLIEST_YEAR = 2000
LATEST_AHEAD = timedelta(days=3653)


def bad_text(text: str) -> str | None:
    """Why `text` cannot be stored (NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (a lone surrogate)"
    return None


def scrub(value: Any) -> Any:
    """A value from outside that is not refused but kept (a service's answer, an error text, a
    row stored before these checks), made storable and renderable: each lone surrogate or NUL
    becomes U+FFFD. Values without one come back as they are."""
    if isinstance(value, str):
        if bad_text(value) is None:
            return value
        return "".join("\ufffd" if c == "\x00" or "\ud800" <= c <= "\udfff" else c for c in value)
    if isinstance(value, Mapping):
        return {scrub(key): scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def check_text(field: str, text: str, *, max_length: int | None = None) -> str:
    reason = bad_text(text)
    if reason:
        raise ValidationError({field: reason})
    if max_length is not None and len(text) > max_length:
        raise ValidationError({field: f"is longer than {max_length} characters"})
    return text


def check_json(field: str, value: Any, *, root: str = "", depth: int = 0) -> None:
    """Every key and string in a JSON value stores cleanly; nesting is bounded."""
    root = root or field
    if depth > MAX_PAYLOAD_DEPTH:
        raise ValidationError({root: f"is nested deeper than {MAX_PAYLOAD_DEPTH} levels"})
    if isinstance(value, str):
        check_text(field, value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError({field: "has a key that is not a string"})
            reason = bad_text(key)
            if reason:
                raise ValidationError({field: f"has a key that {reason}"})
            check_json(f"{field}.{key}", item, root=root, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json(f"{field}[{index}]", item, root=root, depth=depth + 1)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > 2**53:
            raise ValidationError({field: "is out of range (at most 2^53)"})
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError({field: "is not a finite number"})
    else:
        raise ValidationError({field: "is not JSON"})


def check_client_type(task_type: TaskType) -> None:
    if not task_type.client_creatable:
        raise ValidationError(
            {"type": f"{task_type.name!r} tasks are internal: the system creates them itself"}
        )


def clean_payload(task_type: TaskType, payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """The payload as stored: checked text and size, then the type's own needs."""
    raw = dict(payload or {})
    check_json("payload", raw)
    if len(json.dumps(raw)) > MAX_PAYLOAD_BYTES:
        raise ValidationError({"payload": f"is larger than {MAX_PAYLOAD_BYTES} bytes"})
    if task_type.payload is None:
        return raw
    spec = task_type.payload(data=raw)
    if not spec.is_valid():
        raise ValidationError(
            {f"payload.{name}": _messages(errors) for name, errors in spec.errors.items()}
        )
    return {**raw, **spec.validated_data}


def _messages(errors: Any) -> list[str]:
    if isinstance(errors, Mapping):
        return [f"{key}: {' '.join(_messages(value))}" for key, value in errors.items()]
    if isinstance(errors, list):
        return [message for item in errors for message in _messages(item)]
    return [str(errors)]


def check_platform(task_type: TaskType, platform: str) -> None:
    """A platform task names one of the platforms its type runs on."""
    if task_type.needs_platform and not platform:
        raise ValidationError({"platform": f"a {task_type.name} task needs a platform"})
    if platform and task_type.platforms and platform not in task_type.platforms:
        known = ", ".join(task_type.platforms)
        raise ValidationError(
            {"platform": f"{task_type.name} runs on {known}; not on {platform!r}"}
        )


def check_strings(values: Mapping[str, str]) -> None:
    for field, value in values.items():
        check_text(field, value, max_length=MAX_LENGTHS.get(field))


def check_priority(priority: Any) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        raise ValidationError({"priority": "priority must be between 1 (highest) and 5"})
    return priority


def check_max_retries(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETRIES:
        raise ValidationError({"maxRetries": f"must be between 0 and {MAX_RETRIES}"})
    return value


def check_sora_credits(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SORA_CREDITS:
        raise ValidationError(
            {
                "resourceRequirements": "soraCredits must be a whole number between 0 and "
                f"{MAX_SORA_CREDITS}"
            }
        )
    return value


def check_dependencies(dependencies: Iterable[Any]) -> list[int]:
    items = list(dependencies)
    if len(items) > MAX_DEPENDENCIES:
        raise ValidationError({"dependencies": f"at most {MAX_DEPENDENCIES} dependencies per task"})
    ids: set[int] = set()
    for item in items:
        try:
            number = int(item)
        except (TypeError, ValueError):
            raise ValidationError({"dependencies": f"{item!r} is not a task id"}) from None
        if not 1 <= number <= MAX_TASK_ID:
            raise ValidationError({"dependencies": f"{item!r} is not a task id"})
        ids.add(number)
    return sorted(ids)


def check_when(field: str, when: datetime | None, *, now: datetime) -> datetime | None:
    """An aware time within sane years (not before 2000, at most ten years ahead)."""
    if when is None:
        return None
    if when.tzinfo is None:
        raise ValidationError({field: "give a time with a time zone"})
    if when.year < EARLIEST_YEAR or when - now > LATEST_AHEAD:
        raise ValidationError({field: f"must be between {EARLIEST_YEAR} and ten years from now"})
    return when


def check_key(key: str | None) -> str | None:
    if not key:
        return None
    return check_text("idempotencyKey", key, max_length=MAX_KEY_LENGTH)
