"""The CRM's side of a send: who may be messaged before it (`outreach_guard`), and the sent
message logged after it (`sent_log`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from crm.client import CrmError, get_client
from dm import selectors
from dm.clients.results import parse_time
from dm.models import SendLedger
from scheduler.errors import TaskError


def outreach_guard(*, platform: str, username: str, key: str, reply: bool, now: datetime) -> None:
    """Refuse do-not-contact always, and a cold DM to someone contacted within the cooldown."""
    try:
        state = get_client().conversation_state(platform=platform, username=username)
    except CrmError as exc:
        raise TaskError(f"the CRM could not be asked about @{username}: {exc}") from exc
    if state.get("do_not_contact"):
        raise TaskError(f"@{username} is marked do-not-contact: never messaged", permanent=True)
    if state.get("display_only"):
        raise TaskError(
            f"{username!r} is only a name an inbox showed, not a handle: never messaged",
            permanent=True,
        )
    if reply or state.get("has_inbound"):
        return
    days = settings.DM_COLD_COOLDOWN_DAYS
    cutoff = now - timedelta(days=days)
    crm_last = parse_time(state.get("last_outbound_at"))
    ours = selectors.recipient_last_sent(
        platform=platform, recipient=username, exclude_key=key, since=cutoff
    )
    latest = max(filter(None, [crm_last, ours]), default=None)
    if latest is not None and latest > cutoff:
        raise TaskError(
            f"cold DM refused: @{username} was already contacted "
            f"{selectors.ago(now - latest)} ago and has not written back "
            f"(cooldown {days} days)",
            permanent=True,
        )


def sent_log(
    *, entry: SendLedger, campaign_id: str, contact_id: str, now: datetime
) -> CrmError | None:
    """Log the sent message into the CRM (and the campaign's send, when the task came from
    one). A failure is returned for the caller to record, never an unsent DM."""
    crm = get_client()
    try:
        crm.message_log(
            platform=entry.platform,
            username=entry.recipient,
            text=entry.text,
            direction="outbound",
            sent_at=entry.finished_at or now,
            by_automation=True,
        )
        if campaign_id and contact_id:
            crm.campaign_record_sent(campaign_id=campaign_id, contact_id=contact_id)
    except CrmError as exc:
        return exc
    return None
