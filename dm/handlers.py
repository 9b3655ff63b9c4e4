"""Task handlers: dm, comment, discovery, sync, probe. Each parses its payload and calls one
service: the at-most-once send protocol is `dm/sending.py` (answers mapped onto the ledger in
`dm/outcomes.py`), probes are `dm/probing.py`, the inbox sync `dm/inbox.py`, discovery
`dm/prospects.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils import timezone

from dm import services
from dm.clients import CommentsClient, UnifiedDMClient
from dm.inbox import inbox_sync
from dm.models import Action
from dm.payloads import DiscoveryPayload
from dm.probing import probe_run
from dm.prospects import prospects_discover
from dm.sending import Sender, comment_deliver, dm_deliver, send_recover
from scheduler.errors import TaskError

if TYPE_CHECKING:
    from scheduler.models import Task
    from scheduler.runner import TaskContext


def dm_client() -> UnifiedDMClient:
    """Built per use, so the base URLs are whatever the settings say now."""
    return UnifiedDMClient()


def _sender(ctx: TaskContext, kind: str) -> Sender:
    task = ctx.task
    return Sender(
        key=task.idempotency_key or f"{kind}-task:{task.pk}",
        task_id=task.pk,
        platform=task.platform,
        handle=task.account,
        host=task.safari_host,
        campaign_id=str(ctx.payload.get("campaignId") or ""),
        contact_id=str(ctx.payload.get("contactId") or ""),
    )


def dm(ctx: TaskContext) -> dict[str, Any]:
    """Send a DM to `username`, or reply in `threadId` (Instagram)."""
    username = str(ctx.payload.get("username") or "").lstrip("@")
    text = str(ctx.payload.get("text") or "")
    thread_id = str(ctx.payload.get("threadId") or "")
    if not text or not (username or thread_id):
        raise TaskError("a dm task needs `text` and a `username` (or `threadId`)", permanent=True)
    return dm_deliver(
        ctx,
        sender=_sender(ctx, "dm"),
        client=dm_client(),
        username=username,
        text=text,
        thread_id=thread_id,
    )


def comment(ctx: TaskContext) -> dict[str, Any]:
    """Post a comment on `postUrl`. A comment cannot be read back: unsure means blocked."""
    post_url = str(ctx.payload.get("postUrl") or ctx.payload.get("post_url") or "")
    text = str(ctx.payload.get("text") or "")
    if not post_url or not text:
        raise TaskError("a comment task needs `postUrl` and `text`", permanent=True)
    return comment_deliver(
        ctx, sender=_sender(ctx, "comment"), client=CommentsClient(), post_url=post_url, text=text
    )


def recover(task: Task) -> bool:
    """The reaper found a send whose worker vanished (dm/sending.py `send_recover`)."""
    return send_recover(task=task, now=timezone.now())


def on_decide(task: Task, decision: str) -> None:
    services.ledger_decide(task=task, decision=decision)


def discovery(ctx: TaskContext) -> dict[str, Any]:
    """Find prospects through the platform's service and upsert the qualifying ones in the CRM."""
    platform = ctx.task.platform or str(ctx.payload.get("platform") or "")
    # Only the criteria its payload spec declares reach the service (checked at creation).
    criteria = {k: v for k, v in ctx.payload.items() if k in DiscoveryPayload().fields}
    return prospects_discover(client=dm_client(), platform=platform, criteria=criteria)


def sync(ctx: TaskContext) -> dict[str, Any]:
    """Pull conversations and their messages into the CRM; announce the new replies."""
    return inbox_sync(
        ctx,
        client=dm_client(),
        platform=ctx.task.platform or str(ctx.payload.get("platform") or ""),
        most=int(ctx.payload.get("limit") or 50),
        check_cancelled=ctx.check_cancelled,
    )


def probe(ctx: TaskContext) -> dict[str, Any]:
    """Health, then session, then the service's own limits; store them; queue the next probe."""
    return probe_run(
        platform=str(ctx.payload.get("platform") or ctx.task.platform),
        action=str(ctx.payload.get("action") or Action.DM),
        handle=str(ctx.payload.get("account") or ""),
        host=ctx.task.safari_host,
        chain=bool(ctx.payload.get("chain", True)),
        clock=ctx.now,
    )
