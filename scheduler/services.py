"""The PRD's TaskScheduler as services: every write the API, CLI, admin and dashboard make."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from safari_auto.api import ConflictError, NotFoundError
from scheduler import events, idempotency, registry, taskinput
from scheduler.lifecycle import S, transition
from scheduler.models import (
    FINAL_STATUSES,
    Pause,
    PauseKind,
    PauseScope,
    SchedulerState,
    Task,
)
from scheduler.store import compose, get_store

MAX_REASON = 300  # Pause.reason; a decision's note is kept in the same words


class TaskNotFound(NotFoundError):
    pass


class InvalidTransition(ConflictError):
    pass


class KeyReused(ConflictError):
    """An idempotency key came back with a different request."""


def lane_key(*, type: str, platform: str, account: str, host: str) -> str:
    return f"{type}|{platform or '-'}|{account or '-'}|{host}"


def resolve_requirements(
    type_name: str, platform: str, requested: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The type's defaults plus whatever the client added; a client can never remove one."""
    task_type = registry.task_type(type_name)
    if task_type is None:
        raise ValidationError({"type": f"unknown task type {type_name!r}"})
    requested = requested or {}
    credits = taskinput.check_sora_credits(requested.get("soraCredits", 0) or 0)
    req_platform = requested.get("platform") or platform
    taskinput.check_strings({"platform": req_platform or ""})
    if task_type.needs_platform and not req_platform:
        raise ValidationError({"platform": f"a {type_name} task needs a platform"})
    return {
        "req_safari_exclusive": task_type.safari_exclusive
        or bool(requested.get("safariExclusive", False)),
        "req_sora_credits": credits,
        "req_platform": req_platform or "",
    }


def _known_type(name: str) -> registry.TaskType:
    task_type = registry.task_type(name)
    if task_type is None:
        known = ", ".join(sorted(registry.task_types()))
        raise ValidationError({"type": f"unknown task type {name!r}; known: {known}"})
    return task_type


def _repeat(key: str, request_hash: str) -> Task | None:
    """The task a repeated key made, or a conflict when the key came with another request."""
    existing = Task.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if request_hash and existing.request_hash and existing.request_hash != request_hash:
        raise KeyReused(
            f"idempotency key {idempotency.public_key(key)!r} was already used for task "
            f"{existing.pk} with a different request; use a new key for a new request"
        )
    return existing


def task_schedule(
    *,
    type: str,
    name: str = "",
    platform: str = "",
    account: str = "",
    safari_host: str | None = None,
    priority: int = 3,
    scheduled_for: datetime | None = None,
    payload: Mapping[str, Any] | None = None,
    dependencies: Iterable[int] = (),
    requirements: Mapping[str, Any] | None = None,
    max_retries: int | None = None,
    idempotency_key: str | None = None,
    client: str | None = None,
    request_hash: str = "",
    now: datetime | None = None,
) -> tuple[Task, bool]:
    """Queue a task. Returns (task, created); a repeated idempotency key returns the first.

    `client` names who asks when it is not the system ("user:5", "cli"): then internal task
    types are refused and the key lives in that client's namespace, bound to `request_hash`
    (the same key with another request is a conflict).
    """
    now = now or timezone.now()
    task_type = _known_type(type)
    if client is not None:
        taskinput.check_client_type(task_type)
        if idempotency_key:
            taskinput.check_text("idempotencyKey", idempotency_key)
            idempotency_key = idempotency.client_key(owner=client, key=idempotency_key)
    idempotency_key = taskinput.check_key(idempotency_key)
    if idempotency_key:
        existing = _repeat(idempotency_key, request_hash)
        if existing is not None:
            return existing, False
    priority = taskinput.check_priority(priority)
    taskinput.check_strings({"name": name, "platform": platform, "account": account})
    scheduled_for = taskinput.check_when("scheduledFor", scheduled_for, now=now)
    max_retries = taskinput.check_max_retries(max_retries)
    reqs = resolve_requirements(type, platform, requirements)
    taskinput.check_platform(task_type, platform or reqs["req_platform"])
    clean = taskinput.clean_payload(task_type, payload)
    if task_type.requirements_for is not None:  # what the payload implies; never lowered
        implied = int(task_type.requirements_for(clean).get("soraCredits", 0))
        reqs["req_sora_credits"] = max(reqs["req_sora_credits"], implied)
    if task_type.idempotent_key_required and not idempotency_key:
        idempotency_key = f"{type}:{uuid.uuid4()}"
    host = safari_host or settings.SAFARI_HOST
    if host not in settings.SAFARI_HOSTS:
        raise ValidationError({"safariHost": f"unknown Safari host {host!r}"})
    dep_ids = taskinput.check_dependencies(dependencies)
    deps = (
        list(Task.objects.filter(pk__in=dep_ids).order_by().values_list("pk", "status"))
        if dep_ids
        else []
    )
    missing = set(dep_ids) - {pk for pk, _ in deps}
    if missing:
        raise ValidationError({"dependencies": f"unknown task(s): {sorted(missing)}"})
    if max_retries is None:
        max_retries = task_type.max_retries
    if max_retries is None:
        max_retries = int(settings.SCHEDULER["DEFAULT_MAX_RETRIES"])
    platform = platform or reqs["req_platform"]
    key = lane_key(type=type, platform=platform, account=account, host=host)
    task = Task(
        type=type,
        name=name or type,
        platform=platform,
        account=account,
        safari_host=host,
        lane=key,
        priority=priority,
        scheduled_for=scheduled_for or now,
        payload=clean,
        max_retries=max_retries,
        idempotency_key=idempotency_key or None,
        request_hash=request_hash,
        created_at=now,
        pending_deps=sum(1 for _, status in deps if status != S.COMPLETED),
        **reqs,
    )
    created = compose("task.created", message=task.name, now=now)
    broken = [pk for pk, status in deps if status in (S.FAILED, S.CANCELLED)]
    try:
        if not broken:
            return get_store().create(task, created, dependencies=dep_ids), True
        with transaction.atomic():
            task = get_store().create(task, created, dependencies=dep_ids)
            transition(
                task.pk,
                source=[S.PENDING],
                target=S.FAILED,
                kind="task.failed",
                message=f"dependency #{broken[0]} already failed or was cancelled",
                error=f"dependency #{broken[0]} already failed or was cancelled",
                now=now,
            )
        task.refresh_from_db()
    except IntegrityError:
        if idempotency_key:
            existing = _repeat(idempotency_key, request_hash)
            if existing is not None:
                return existing, False
        raise
    return task, True


def _get(task_id: int | str) -> Task:
    try:
        return Task.objects.get(pk=int(task_id))
    except (Task.DoesNotExist, ValueError):
        raise TaskNotFound(f"task {task_id} not found") from None


def task_cancel(*, task_id: int | str, reason: str = "cancelled by user") -> Task:
    """Cancel a queued task now; ask a running one to stop cooperatively."""
    task = _get(task_id)
    if task.status in FINAL_STATUSES:
        raise InvalidTransition(f"task {task.pk} is already {task.status}")
    if task.status == S.RUNNING:
        asked = compose("task.cancel_requested", task_id=task.pk, message=reason)
        get_store().request_cancel(task, asked)
        task.refresh_from_db()
        return task
    moved = transition(
        task.pk,
        source=[S.PENDING, S.SCHEDULED, S.BLOCKED],
        target=S.CANCELLED,
        kind="task.cancelled",
        message=reason,
        error=reason,
    )
    if not moved:  # it started meanwhile: ask it to stop
        return task_cancel(task_id=task.pk, reason=reason)
    task.refresh_from_db()
    return task


def task_reschedule(*, task_id: int | str, when: datetime) -> Task:
    """Move a queued task to a new time (pending or blocked tasks)."""
    task = _get(task_id)
    taskinput.check_when("scheduledFor", when, now=timezone.now())
    moved = transition(
        task.pk,
        source=[S.PENDING, S.BLOCKED],
        target=S.PENDING,
        kind="task.rescheduled",
        message=f"rescheduled for {when.isoformat()}",
        data={"from": task.scheduled_for.isoformat(), "to": when.isoformat()},
        scheduled_for=when,
        wait_reason="",
    )
    if not moved:
        raise InvalidTransition(f"task {task.pk} is {task.status}; only queued tasks reschedule")
    task.refresh_from_db()
    return task


def task_retry(*, task_id: int | str, now: datetime | None = None) -> Task:
    """Run a failed or cancelled task again as the same task, with its attempts reset.

    Dependents that failed only because of it go back to waiting for it. A type may register
    `extra['on_retry']`, called in the same transaction (Sora re-admits the trilogy: the
    credits it gave back when it failed may be another's by now).
    """
    now = now or timezone.now()
    task = _get(task_id)
    task_type = registry.task_type(task.type)
    hook = task_type.extra.get("on_retry") if task_type else None
    with transaction.atomic():
        moved = transition(
            task.pk,
            source=[S.FAILED, S.CANCELLED],
            target=S.PENDING,
            kind="task.retried",
            message="retry requested",
            now=now,
            retry_count=0,
            scheduled_for=now,
            error="",
            result=None,
            finished_at=None,
            wait_reason="",
            pending_deps=_unfinished_dependencies(task),
        )
        if not moved:
            raise InvalidTransition(
                f"task {task.pk} is {task.status}; only failed or cancelled tasks can be retried"
            )
        _revive_dependents(task.pk, now)
        if hook is not None:
            hook(task)
    task.refresh_from_db()
    return task


def _unfinished_dependencies(task: Task) -> int:
    return task.dependencies.exclude(status=S.COMPLETED).count()


def _revive_dependents(task_id: int, now: datetime) -> None:
    for dependent in Task.objects.filter(
        dependencies__id=task_id, status=S.FAILED, result__failedDependency__isnull=False
    ):
        transition(
            dependent.pk,
            source=[S.FAILED],
            target=S.PENDING,
            kind="task.retried",
            message=f"dependency #{task_id} is retrying",
            now=now,
            retry_count=0,
            error="",
            result=None,
            finished_at=None,
            pending_deps=_unfinished_dependencies(dependent),
        )
        _revive_dependents(dependent.pk, now)


def task_decide(*, task_id: int | str, decision: str, note: str = "") -> Task:
    """Resolve a blocked task: 'done' (it happened: complete it) or 'retry' (run it again).

    Task types may register their own words (a send's 'sent' / 'resend') through
    `TaskType.extra['decisions']`, a mapping of word → 'done' | 'retry'.
    """
    taskinput.check_text("decision", decision, max_length=32)
    taskinput.check_text("note", note, max_length=MAX_REASON)
    task = _get(task_id)
    task_type = registry.task_type(task.type)
    words: Mapping[str, str] = (task_type.extra.get("decisions", {}) if task_type else {}) or {}
    action = {"done": "done", "retry": "retry", **words}.get(decision)
    if action is None:
        choices = ", ".join(sorted({"done", "retry", *words}))
        raise ValidationError({"decision": f"decide with one of: {choices}"})
    if task.status != S.BLOCKED:
        raise InvalidTransition(f"task {task.pk} is {task.status}, not waiting for a decision")
    hook = task_type.extra.get("on_decide") if task_type else None
    with transaction.atomic():
        if action == "done":
            moved = transition(
                task.pk,
                source=[S.BLOCKED],
                target=S.COMPLETED,
                kind="task.completed",
                message=f"decided: {decision}. {note}".strip(),
                data={"decision": decision},
                result={"decision": decision, "note": note},
                wait_reason="",
            )
        else:
            moved = transition(
                task.pk,
                source=[S.BLOCKED],
                target=S.PENDING,
                kind="task.decided",
                message=f"decided: {decision}. {note}".strip(),
                data={"decision": decision},
                scheduled_for=timezone.now(),
                wait_reason="",
            )
        if not moved:
            raise InvalidTransition(f"task {task.pk} changed meanwhile; look again")
        if hook is not None:
            hook(task, decision)
    task.refresh_from_db()
    return task


# --- pause, resume, start, stop -----------------------------------------------------------


def _pause_filter(scope: str, platform: str, account: str) -> dict[str, str]:
    taskinput.check_strings({"platform": platform, "account": account})
    if scope == PauseScope.ALL:
        return {"scope": scope, "platform": "", "account": ""}
    if not platform:
        raise ValidationError({"platform": "name the platform to pause"})
    if scope == PauseScope.ACCOUNT and not account:
        raise ValidationError({"account": "name the account to pause"})
    return {"scope": scope, "platform": platform, "account": account if scope == "account" else ""}


def scheduler_pause(
    *,
    platform: str = "",
    account: str = "",
    reason: str = "",
    kind: str = PauseKind.USER,
) -> Pause:
    """Persisted pause of everything, a platform or an account; running tasks finish."""
    if kind == PauseKind.USER:
        taskinput.check_text("reason", reason, max_length=MAX_REASON)
    else:  # a probe's words: kept, made storable
        reason = taskinput.scrub(reason)[:MAX_REASON]
    scope = PauseScope.ACCOUNT if account else PauseScope.PLATFORM if platform else PauseScope.ALL
    where = _pause_filter(scope, platform, account)
    with transaction.atomic():
        pause, created = Pause.objects.get_or_create(
            **where, kind=kind, defaults={"reason": reason or f"paused ({kind})"}
        )
        if not created and reason and pause.reason != reason:
            pause.reason = reason
            pause.save(update_fields=["reason"])
        if created:
            events.record(
                "platform.paused" if platform else "scheduler.paused",
                subject="platform" if platform else "scheduler",
                subject_id=f"{platform}/{account}".strip("/") if platform else "",
                message=pause.reason,
                data={**where, "kind": kind, "reason": pause.reason},
            )
    return pause


def scheduler_resume(*, platform: str = "", account: str = "", kind: str = PauseKind.USER) -> int:
    """Lift pauses of one kind; returns how many were lifted. Resuming everything also starts."""
    scope = PauseScope.ACCOUNT if account else PauseScope.PLATFORM if platform else PauseScope.ALL
    where = _pause_filter(scope, platform, account)
    with transaction.atomic():
        deleted, _ = Pause.objects.filter(**where, kind=kind).delete()
        if scope == PauseScope.ALL and kind == PauseKind.USER:
            SchedulerState.objects.update_or_create(pk=1, defaults={"stopped": False})
        if deleted:
            events.record(
                "platform.resumed" if platform else "scheduler.resumed",
                subject="platform" if platform else "scheduler",
                subject_id=f"{platform}/{account}".strip("/") if platform else "",
                data={**where, "kind": kind},
            )
    return deleted


def scheduler_stop(*, reason: str = "stopped by user") -> int:
    """Pause everything and ask running tasks to stop; they go back to pending."""
    with transaction.atomic():
        SchedulerState.objects.update_or_create(pk=1, defaults={"stopped": True})
        scheduler_pause(reason=reason)
        asked = get_store().request_requeue_all()
        events.record(
            "scheduler.stopped",
            subject="scheduler",
            message=reason,
            data={"running_asked_to_stop": asked},
        )
    return asked


def scheduler_start() -> None:
    """Lift a stop and the user's global pause."""
    with transaction.atomic():
        SchedulerState.objects.update_or_create(pk=1, defaults={"stopped": False})
        scheduler_resume()
        events.record("scheduler.started", subject="scheduler")
