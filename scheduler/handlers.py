"""The scheduler's own task types: check, webhook and cleanup."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safari_auto.http import ServiceError, call
from safari_auto.redaction import url_origin
from scheduler.errors import TaskError
from scheduler.payloads import MAX_RETENTION_DAYS, CheckPayload, CleanupPayload
from scheduler.registry import TaskType, register_task_type
from scheduler.store import get_store

if TYPE_CHECKING:
    from scheduler.runner import TaskContext


def check(ctx: TaskContext) -> dict[str, Any]:
    """A diagnostic task: waits `seconds` (cancellable), then reports. Checks the pipeline
    end to end and is what the benchmarks run; `fail: "message"` makes it fail on purpose."""
    seconds = float(ctx.payload.get("seconds", 0) or 0)
    if seconds > 0:
        ctx.sleep(seconds)
    if ctx.payload.get("fail"):
        raise TaskError(str(ctx.payload["fail"]), permanent=bool(ctx.payload.get("permanent")))
    # Which host's worker cluster ran it: a two-host system checks its routing with it.
    return {"ok": True, "attempt": ctx.attempt, "slept": seconds, "host": settings.SAFARI_HOST}


def webhook(ctx: TaskContext) -> dict[str, Any]:
    """POST the payload (the alert body) as JSON to ALERT_WEBHOOK_URL; 4xx is permanent, 5xx
    is retried. The URL comes from settings only, and errors name its origin only: a webhook's
    path or query is often its secret."""
    url = settings.ALERT_WEBHOOK_URL
    if not url:
        raise TaskError("ALERT_WEBHOOK_URL is not set: the alert was not delivered", permanent=True)
    where = f"the alert webhook ({url_origin(url)})"
    try:
        answer = call("POST", url, json=ctx.payload, timeout=10)
    except ServiceError as exc:
        raise TaskError(f"{where}: {exc.reason}", permanent=exc.permanent) from None
    if not answer.ok:
        raise TaskError(f"{where} answered {answer.status}", permanent=answer.status < 500)
    return {"status": answer.status}


def retention_days(value: Any) -> int:
    """The retention a clean-up keeps: at least one day, at most MAX_RETENTION_DAYS."""
    days = value if value not in (None, "") else settings.SCHEDULER["RETENTION_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int):
        raise TaskError(f"retention {days!r} is not a whole number of days", permanent=True)
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise TaskError(
            f"retention of {days} days refused: keep between 1 and {MAX_RETENTION_DAYS}",
            permanent=True,
        )
    return days


def cleanup(ctx: TaskContext) -> dict[str, int]:
    """Prune finished tasks, events and django-q2 results older than the retention period.

    Events of unfinished tasks (pending, scheduled, running, blocked) are their history and
    audit trail: they stay, however old.
    """
    from django_q.models import Success
    from django_q.models import Task as QTask

    days = retention_days(ctx.payload.get("days"))
    cutoff = timezone.now() - timedelta(days=days)
    with transaction.atomic():
        events, tasks = get_store().prune(cutoff, keep=ctx.task.pk)
        results, _ = QTask.objects.filter(stopped__lt=cutoff).delete()
        Success.objects.filter(stopped__lt=cutoff).delete()
    return {"events": events, "tasks": tasks, "results": results, "days": days}


def register_builtin_types() -> None:
    register_task_type(
        TaskType(
            "check",
            check,
            "Diagnostic: wait, then report.",
            timeout_seconds=3600,
            client_creatable=True,
            payload=CheckPayload,
        )
    )
    register_task_type(
        TaskType(
            "webhook",
            webhook,
            "Deliver an alert to ALERT_WEBHOOK_URL.",
            timeout_seconds=60,
            max_retries=5,
        )
    )
    register_task_type(
        TaskType(
            "cleanup",
            cleanup,
            "Prune old tasks, events and results.",
            timeout_seconds=1800,
            max_retries=1,
            payload=CleanupPayload,
        )
    )
