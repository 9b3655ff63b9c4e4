"""What sora registers with the scheduler: its task types and its resource probe."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from scheduler.registry import (
    CliCommand,
    Recurring,
    TaskType,
    register_cli,
    register_on_lead,
    register_probe,
    register_recurring,
    register_status_section,
    register_task_type,
)
from sora import cli, gates, handlers, payloads, selectors, services, singles


def sora_status() -> dict[str, Any]:
    """`soraCredits` in GET /api/scheduler/status and `scheduler resources`."""
    summary = selectors.credits_summary(now=timezone.now())
    credits: dict[str, Any] = dict(summary["credits"])  # type: ignore[call-overload]
    return {
        **credits,
        "timeUntilRefresh": summary["timeUntilRefresh"],
        "videos": selectors.recent_videos(limit=6),
    }


def _check_on_lead(now: datetime) -> None:
    """A dispatcher took the lead: read the Sora service's credits now (probed, not assumed)."""
    services.credit_check_ensure(now=now, reason="the dispatcher took the lead", due_now=True)


def register() -> None:
    register_task_type(
        TaskType(
            selectors.VIDEO_TYPE,
            handlers.make_video,
            "Make one video (a trilogy part, or a single one from its prompt): submit once "
            "(Safari), then generate (a Sora slot).",
            safari_exclusive=True,
            timeout_seconds=2 * 3600,
            needs=gates.video_needs,
            max_retries=3,
            client_creatable=True,
            payload=payloads.VideoPayload,
            requirements_for=singles.single_requirements,
            extra={
                "decisions": {"resubmit": "retry", "generated": "done"},
                "on_decide": handlers.on_decide,
                "on_retry": handlers.on_retry,
            },
        )
    )
    register_task_type(
        TaskType(
            selectors.CHECK_TYPE,
            handlers.check_credits,
            "checkCredits: read Sora usage, learn the refresh, queue the next check.",
            safari_exclusive=True,
            timeout_seconds=300,
            max_retries=1,
        )
    )
    register_probe("sora", gates.probe)
    register_status_section("soraCredits", sora_status)
    if settings.PROBE_ON_LEAD:
        register_on_lead("sora: check credits", _check_on_lead)
    register_cli(
        CliCommand(
            "sora",
            "Queue a trilogy (--trilogy ID --when-credits N), show or check Sora credits.",
            cli.add_arguments,
            cli.handle,
        )
    )
    # The check chain keeps itself going once started; this starts it on a fresh install.
    register_recurring(
        Recurring(
            name="sora: make sure a credit check is queued",
            func="sora.services.credit_check_ensure",
            cron="7 * * * *",
        )
    )
