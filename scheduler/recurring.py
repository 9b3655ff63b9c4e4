"""Recurring work: django-q2 Schedules whose function only creates Task rows.

The dispatcher then runs those tasks like any other. A missed run is not caught up
(`catch_up` is off): it runs once, then realigns.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from scheduler import registry


def create_task(task_type: str, name: str = "", **fields: Any) -> int:
    """A schedule's function: queue one task for this slot (idempotent per minute)."""
    from scheduler.services import task_schedule

    slot = timezone.now().strftime("%Y%m%dT%H%M")
    label = name or f"{task_type} (recurring)"
    task, _ = task_schedule(
        type=task_type, name=label, idempotency_key=f"recurring:{label}:{slot}", **fields
    )
    return task.pk


def ensure_schedules(**kwargs: Any) -> int:
    """Create or update every registered recurring schedule (run after migrate)."""
    from django_q.models import Schedule

    from scheduler.packages import cluster_for

    made = 0
    for item in registry.recurring().values():
        _, created = Schedule.objects.update_or_create(
            name=item.name,
            defaults={
                "func": item.func,
                "args": None,
                "kwargs": item.kwargs,
                "schedule_type": Schedule.CRON,
                "cron": item.cron,
                "cluster": cluster_for(item.host or settings.SAFARI_HOST),
                "repeats": -1,
            },
        )
        made += int(created)
    return made
