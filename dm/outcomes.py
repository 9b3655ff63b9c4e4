"""A send's answer mapped onto the send ledger and the attempt's end: sent (and logged in the
CRM), limited (deferred until the limit opens), needs a human (the platform is held and probed),
unreachable (the service is down: held and probed, nothing was sent) or failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from dm import limits, services
from dm.clients import SendResult
from dm.models import Action, LedgerState, SendLedger
from dm.outreach import sent_log
from dm.probing import service_down
from scheduler.errors import TaskBlocked, TaskDeferred, TaskError


class Attempt(Protocol):
    """What a send needs of the running task: its clock and its events (the runner notes
    which worker runs it, `result["pid"]`, when it starts)."""

    def now(self) -> datetime: ...

    def event(self, kind: str, message: str = "", **data: Any) -> None: ...


def done(entry: SendLedger, note: str) -> dict[str, Any]:
    """The result of a send that went out."""
    return {
        "sent": True,
        "verified": entry.verified,
        "platform": entry.platform,
        "account": entry.account.handle,
        "recipient": entry.recipient or entry.post_url,
        "sentAt": (entry.finished_at or entry.attempt_started_at).isoformat(),
        "note": note,
    }


def block(entry: SendLedger, reason: str, *, now: datetime) -> TaskBlocked:
    """Mark the entry blocked and return the TaskBlocked that asks a human to decide."""
    services.ledger_mark(entry=entry, state=LedgerState.BLOCKED, note=reason, now=now)
    return TaskBlocked(reason, data={"ledger": entry.idempotency_key, "decide": "sent|resend"})


def _crm_log(attempt: Attempt, entry: SendLedger, campaign: tuple[str, str]) -> None:
    """Log a sent DM in the CRM; a failure is an event, never an unsent DM."""
    if entry.action != Action.DM:
        return
    failure = sent_log(
        entry=entry, campaign_id=campaign[0], contact_id=campaign[1], now=attempt.now()
    )
    if failure is not None:
        attempt.event("send.crm_failed", f"sent, but the CRM did not take it: {failure}")


def sent_verified(
    attempt: Attempt, entry: SendLedger, note: str, campaign: tuple[str, str]
) -> dict[str, Any]:
    """A read of the conversation proved an unsure send went out."""
    services.ledger_sent(entry=entry, verified=True, now=attempt.now(), how="verified")
    _crm_log(attempt, entry, campaign)
    return done(entry, note)


def outcome(
    attempt: Attempt, entry: SendLedger, result: SendResult, *, campaign: tuple[str, str]
) -> dict[str, Any]:
    """Turn a normalised answer into the ledger's next state and the attempt's end.
    `campaign`: (campaign id, contact id) of the campaign that asked for the send, or blanks."""
    now = attempt.now()
    if result.outcome == "sent":
        services.ledger_sent(entry=entry, verified=result.verified, now=now, warning=result.warning)
        _crm_log(attempt, entry, campaign)
        note = "sent" if result.verified is not False else "sent, not verified"
        return done(entry, f"{note}; {result.warning}" if result.warning else note)
    if result.outcome == "limited":
        until = services.ledger_limited(
            entry=entry, retry_after=result.retry_after, reason=result.reason, now=now
        )
        raise TaskDeferred(until, f"{limits.label(entry.platform)}: {result.reason}")
    services.ledger_failed(entry=entry, error=result.reason, now=now)
    if result.outcome == "needs_human":
        raise _needs_human(entry, result.reason, now)
    if result.unreachable:  # nothing was sent: the service is down, not the send wrong
        raise service_down(
            account=entry.account, action=entry.action, reason=result.reason, now=now
        )
    raise TaskError(result.reason or "the service refused the send", permanent=not result.retryable)


def _needs_human(entry: SendLedger, reason: str, now: datetime) -> TaskDeferred:
    """Logged out, a CAPTCHA, a challenge: the platform is held until a probe sees it fixed."""
    limit = services.health_store(
        account=entry.account,
        action=entry.action,
        healthy=False,
        logged_in=False if "log" in reason.lower() else None,
        reason=reason,
        service_limits=None,
        now=now,
    )
    delay = services.probe_delay(limit.probe_failures)
    services.probe_schedule(account=entry.account, action=entry.action, at=now + delay)
    return TaskDeferred(now + delay, f"{limits.label(entry.platform)}: {reason}")
