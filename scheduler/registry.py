"""The handler and resource registries that other apps fill in `AppConfig.ready`.

The scheduler knows nothing of platforms or Sora: `dm` and `sora` register their task types
(handler, default resource requirements, timeout, who may create them, what their payload
needs) and their resource probes here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from scheduler.planning import Gate

if TYPE_CHECKING:
    from rest_framework.serializers import Serializer

    from scheduler.models import Task
    from scheduler.runner import TaskContext

Handler = Callable[["TaskContext"], Any]
NeedsFn = Callable[["Task"], Mapping[str, int]]
# A probe reads stored state only (never the network) and reports the gates it owns.
Probe = Callable[[Iterable[str], datetime], Mapping[str, Gate]]
# Called by the reaper for a task whose worker vanished; returns True when it handled it.
RecoverFn = Callable[["Task"], bool]
# What a type's payload needs: a DRF serializer class, run on every creation (client or
# system); its validated data is what is stored.
PayloadSpec = type["Serializer[Any]"]


@dataclass(frozen=True)
class TaskType:
    name: str
    handler: Handler
    description: str = ""
    safari_exclusive: bool = False
    needs_platform: bool = False
    timeout_seconds: int | None = None
    needs: NeedsFn | None = None
    idempotent_key_required: bool = False
    max_retries: int | None = None
    counted: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)
    # Internal unless said otherwise: the system creates it; the API, dashboard and CLI refuse.
    client_creatable: bool = False
    payload: PayloadSpec | None = None
    # The platforms this type can run on; with `needs_platform`, creation checks against them.
    platforms: tuple[str, ...] = ()
    # Resource requirements a payload implies (e.g. a single Sora video needs one credit):
    # defaults under what the client asks for, never removable by it.
    requirements_for: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None


_types: dict[str, TaskType] = {}
_probes: dict[str, Probe] = {}


def register_task_type(task_type: TaskType) -> None:
    if task_type.timeout_seconds is not None and task_type.timeout_seconds < 1:
        raise ValueError(f"task type {task_type.name!r}: a timeout is at least 1 second")
    _types[task_type.name] = task_type


def task_type(name: str) -> TaskType | None:
    return _types.get(name)


def get_task_type(name: str) -> TaskType:
    """The registered type, or a KeyError naming the known ones."""
    try:
        return _types[name]
    except KeyError:
        raise KeyError(f"unknown task type {name!r}; known: {sorted(_types)}") from None


def timeout_for(name: str) -> int:
    """How long one attempt of a task of this type may run, in seconds: the operator's
    override (SCHEDULER_TASK_TIMEOUTS), else the type's own, else the default. Every attempt
    has one: django-q2 ends a worker's task at it, and the runner records the end."""
    spec = _types.get(name)
    own = spec.timeout_seconds if spec is not None else None
    chosen = settings.TASK_TIMEOUTS.get(name) or own
    return int(chosen or settings.SCHEDULER["DEFAULT_TIMEOUT_SECONDS"])


def task_types() -> dict[str, TaskType]:
    return dict(_types)


def client_task_types() -> dict[str, TaskType]:
    """The types a client (API, dashboard, CLI) may create."""
    return {name: spec for name, spec in _types.items() if spec.client_creatable}


def register_probe(prefix: str, probe: Probe) -> None:
    """Own every gate whose key starts with `prefix:`."""
    _probes[prefix] = probe


def read_gates(keys: Iterable[str], now: datetime) -> dict[str, Gate]:
    by_prefix: dict[str, list[str]] = {}
    for key in keys:
        by_prefix.setdefault(key.split(":", 1)[0], []).append(key)
    gates: dict[str, Gate] = {}
    for prefix, prefixed in by_prefix.items():
        probe = _probes.get(prefix)
        if probe is not None:
            gates.update(probe(prefixed, now))
    return gates


# Sections other apps add to GET /api/scheduler/status (soraCredits, platforms).
StatusFn = Callable[[], Any]
_status_sections: dict[str, StatusFn] = {}


def register_status_section(key: str, fn: StatusFn) -> None:
    _status_sections[key] = fn


def status_sections() -> dict[str, Any]:
    return {key: fn() for key, fn in _status_sections.items()}


@dataclass(frozen=True)
class CliCommand:
    """A `manage.py scheduler <name>` subcommand another app contributes."""

    name: str
    help: str
    add_arguments: Callable[[Any], None]
    handle: Callable[[dict[str, Any], Any], None]


_cli: dict[str, CliCommand] = {}


def register_cli(command: CliCommand) -> None:
    _cli[command.name] = command


def cli_commands() -> dict[str, CliCommand]:
    return dict(_cli)


@dataclass(frozen=True)
class Recurring:
    """A django-q2 Schedule to keep in place; `func` should only create Task rows."""

    name: str
    func: str
    cron: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    host: str = ""


_recurring: dict[str, Recurring] = {}
# Called once each time a dispatcher takes the lead (with `now`), e.g. to probe every service.
_on_lead: dict[str, Callable[[datetime], Any]] = {}


def register_on_lead(name: str, fn: Callable[[datetime], Any]) -> None:
    _on_lead[name] = fn


def on_lead_hooks() -> dict[str, Callable[[datetime], Any]]:
    return dict(_on_lead)


def register_recurring(item: Recurring) -> None:
    _recurring[item.name] = item


def recurring() -> dict[str, Recurring]:
    return dict(_recurring)
