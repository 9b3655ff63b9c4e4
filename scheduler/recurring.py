"""Recurring work: django-q2 Schedules whose function only creates Task rows.

The dispatcher then runs those tasks like any other. A missed run is not caught up
(`catch_up` is off): it runs once, then realigns.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def schedule_upsert(
    *,
    name: str,
    func: str,
    cron: str,
    host: str,
    args: tuple[Any, ...] | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> bool:
    """Create or update the cron Schedule `name`, repeating forever on `host`'s cluster, so
    its function runs with these arguments; True when it was created."""
    from django_q.models import Schedule

    from scheduler.packages import cluster_for

    _, created = Schedule.objects.update_or_create(
        name=name,
        defaults={
            "func": func,
            # django-q2 evaluates both as Python literals (`args` as a tuple, `kwargs` in dict()).
            "args": None if args is None else repr(args),
            "kwargs": None if kwargs is None else repr(dict(kwargs)),
            "schedule_type": Schedule.CRON,
            "cron": cron,
            "cluster": cluster_for(host),
            "repeats": -1,
        },
    )
    return bool(created)


def ensure_schedules(**kwargs: Any) -> int:
    """Create or update every registered recurring schedule (run after migrate)."""
    made = 0
    for item in registry.recurring().values():
        made += schedule_upsert(
            name=item.name,
            func=item.func,
            cron=item.cron,
            host=item.host or settings.SAFARI_HOST,
            kwargs=item.kwargs,
        )
    return made
