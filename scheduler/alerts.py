"""Alerts: taskFailed, taskBlocked (and what other apps add) go to ALERT_WEBHOOK_URL.

Each delivery is a `webhook` task, so it gets our retries, and a failed delivery never
blocks the scheduler. The task's payload is the alert body only: the destination comes from
settings when it runs, never from a payload, and appears nowhere else.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from scheduler import signals
from scheduler.models import Event

ALERT_KINDS = ("task.failed", "task.blocked", "sora.credits_refreshed", "platform.paused")


def _on_event(sender: Any, event: Event, **kwargs: Any) -> None:
    if not settings.ALERT_WEBHOOK_URL or event.kind not in ALERT_KINDS:
        return
    from scheduler.models import Task
    from scheduler.services import task_schedule

    if event.task_id is not None:
        task = Task.objects.filter(pk=event.task_id).only("type").first()
        if task is not None and task.type == "webhook":
            return  # a failed alert does not alert about itself
    task_schedule(
        type="webhook",
        name=f"alert: {event.kind}",
        priority=2,
        payload={  # the alert body only: the handler posts it to ALERT_WEBHOOK_URL
            "event": event.kind,
            "id": event.pk,
            "at": event.created_at.isoformat(),
            "subject": event.subject,
            "subjectId": event.subject_id,
            "taskId": str(event.task_id) if event.task_id else None,
            "message": event.message,
            "data": event.data,
        },
        idempotency_key=f"alert:{event.pk}",
    )


def connect() -> None:
    signals.event_recorded.connect(_on_event, dispatch_uid="scheduler.alerts")
