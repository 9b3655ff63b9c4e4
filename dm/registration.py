"""What dm registers with the scheduler: task types, the `platform:` probe, the status
section and the CLI subcommands."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from dm import cli, handlers, payloads, selectors, services
from dm.models import Action
from dm.platforms import COMMENT_PLATFORMS, DM_PLATFORMS
from scheduler.models import Task
from scheduler.registry import (
    CliCommand,
    TaskType,
    register_cli,
    register_on_lead,
    register_probe,
    register_status_section,
    register_task_type,
)

SEND_DECISIONS = {"sent": "done", "resend": "retry"}


def send_needs(action: str) -> Callable[[Task], dict[str, int]]:
    def needs(task: Task) -> dict[str, int]:
        key = selectors.gate_key(
            action=action, platform=task.platform, account=task.account, host=task.safari_host
        )
        return {key: 1}

    return needs


def register() -> None:
    for name, handler, action, text, spec, platforms in (
        (
            "dm",
            handlers.dm,
            Action.DM,
            "Send a DM to a user or reply in a thread, at most once (the send ledger).",
            payloads.DmPayload,
            DM_PLATFORMS,
        ),
        (
            "comment",
            handlers.comment,
            Action.COMMENT,
            "Post a comment on a URL, at most once.",
            payloads.CommentPayload,
            COMMENT_PLATFORMS,
        ),
    ):
        register_task_type(
            TaskType(
                name,
                handler,
                text,
                safari_exclusive=True,
                needs_platform=True,
                timeout_seconds=300,
                needs=send_needs(action),
                idempotent_key_required=True,
                max_retries=settings.DM_SEND_MAX_RETRIES,
                client_creatable=True,
                payload=spec,
                platforms=platforms,
                extra={
                    "decisions": SEND_DECISIONS,
                    "on_decide": handlers.on_decide,
                    "recover": handlers.recover,
                },
            )
        )
    register_task_type(
        TaskType(
            "discovery",
            handlers.discovery,
            "Find prospects through the platform's service; upsert them as CRM contacts.",
            safari_exclusive=True,
            needs_platform=True,
            timeout_seconds=900,
            max_retries=2,
            client_creatable=True,
            payload=payloads.DiscoveryPayload,
            platforms=DM_PLATFORMS,
        )
    )
    register_task_type(
        TaskType(
            "sync",
            handlers.sync,
            "Pull conversations and messages into the CRM.",
            safari_exclusive=True,
            needs_platform=True,
            timeout_seconds=900,
            max_retries=2,
            client_creatable=True,
            payload=payloads.SyncPayload,
            platforms=DM_PLATFORMS,
        )
    )
    register_task_type(
        TaskType(
            "probe",
            handlers.probe,
            "Check a platform service: health, session, limits; set or lift the health pause.",
            safari_exclusive=False,
            timeout_seconds=120,
            max_retries=1,
            payload=payloads.ProbePayload,
        )
    )
    register_probe(selectors.GATE_PREFIX, selectors.probe)
    register_status_section("platforms", selectors.platforms_status)
    if settings.PROBE_ON_LEAD:
        register_on_lead("dm: probe every DM service", services.probes_on_lead)
    register_cli(CliCommand("dm", cli.DM_HELP, cli.dm_arguments, cli.dm_handle))
    register_cli(
        CliCommand("platform", cli.PLATFORM_HELP, cli.platform_arguments, cli.platform_handle)
    )
