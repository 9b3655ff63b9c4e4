"""Sending a DM or a comment at most once (DESIGN "Side effects happen at most once").

The ledger entry is written *attempting* and committed before the service is called, then
marked sent or failed from the answer (`dm/outcomes.py`). An attempt that finds its entry still
attempting or unknown (the worker was killed, the answer was lost) verifies through the
service before it ever sends again (`dm/verify.py`), and blocks for a human when it cannot
tell. A comment cannot be read back: unsure means blocked. A send whose worker vanished is
marked unknown by `send_recover`, so its next attempt verifies first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dm import limits, services
from dm.accounts import account_get_or_create
from dm.clients import CommentsClient, SendOutcomeUnknown, UnifiedDMClient
from dm.clients.comments import posted_details
from dm.models import Action, LedgerState, PlatformAccount, SendLedger
from dm.outcomes import Attempt, block, done, outcome, sent_verified
from dm.outreach import outreach_guard
from dm.probing import service_down
from dm.verify import snapshot, tab_free, verify_delivery
from scheduler.errors import TaskDeferred, TaskError

if TYPE_CHECKING:
    from datetime import datetime

    from scheduler.models import Task

L = LedgerState
HUMAN_DEFER = timedelta(minutes=5)


@dataclass(frozen=True)
class Sender:
    """Who sends, under which ledger key, for which task (and campaign, when one asked)."""

    key: str
    task_id: int | None
    platform: str
    handle: str
    host: str
    campaign_id: str = ""
    contact_id: str = ""

    def account(self) -> PlatformAccount:
        return account_get_or_create(platform=self.platform, handle=self.handle, host=self.host)


def _entry(key: str) -> SendLedger | None:
    return SendLedger.objects.filter(idempotency_key=key).select_related("account").first()


def _begin(spec: services.SendSpec, account: PlatformAccount, now: datetime) -> SendLedger:
    try:
        return services.ledger_begin(spec=spec, account=account, now=now)
    except services.LimitClosed as closed:
        raise TaskDeferred(closed.until or now + HUMAN_DEFER, closed.reason) from None


def dm_deliver(
    attempt: Attempt,
    *,
    sender: Sender,
    client: UnifiedDMClient,
    username: str,
    text: str,
    thread_id: str = "",
) -> dict[str, Any]:
    """Send `text` to `username`, or reply in `thread_id` (Instagram), at most once."""
    account = sender.account()
    entry = _entry(sender.key)
    if entry is not None:
        finished = _resume_interrupted(attempt, sender, entry, client)
        if finished is not None:
            return finished
    outreach_guard(
        platform=sender.platform,
        username=username,
        key=sender.key,
        reply=bool(thread_id),
        now=attempt.now(),
    )
    if not tab_free(client, sender.platform):
        raise service_down(
            account=account,
            action=Action.DM,
            reason="it did not answer a status call (down, or still busy with another send); "
            "nothing was sent",
            now=attempt.now(),
        )
    # The baseline for verifying a lost answer: read (trustworthily) before anything is sent.
    baseline = (
        None
        if thread_id
        else snapshot(client, platform=sender.platform, username=username, text=text)
    )
    spec = services.SendSpec(
        sender.key,
        sender.task_id,
        sender.platform,
        Action.DM,
        username,
        "",
        text,
        baseline=baseline,
    )
    entry = _begin(spec, account, attempt.now())
    try:
        if thread_id:
            result = client.send_to_thread(thread_id, text)
        else:
            result = client.send(sender.platform, username, text)
    except SendOutcomeUnknown as exc:
        finished = _settle_unknown(
            attempt, sender, entry, client, f"the send's answer was lost ({exc})"
        )
        if finished is not None:
            return finished
        label = limits.label(sender.platform)
        raise TaskError(f"{label}: the send did not go out: {exc}") from exc
    return outcome(attempt, entry, result, campaign=(sender.campaign_id, sender.contact_id))


def _resume_interrupted(
    attempt: Attempt, sender: Sender, entry: SendLedger, client: UnifiedDMClient | None
) -> dict[str, Any] | None:
    """An earlier attempt may have sent: verify before anything else. Returns the result when
    it was sent; None when it was not (the caller sends); raises TaskBlocked when unsure."""
    if entry.state == L.SENT:
        return done(entry, "already sent (ledger)")
    if entry.state == L.FAILED:
        return None
    return _settle_unknown(
        attempt, sender, entry, client, "an earlier attempt was interrupted mid-send"
    )


def _settle_unknown(
    attempt: Attempt,
    sender: Sender,
    entry: SendLedger,
    client: UnifiedDMClient | None,
    what: str,
) -> dict[str, Any] | None:
    """A send whose outcome is unknown: wait for the service to be idle, then let a
    trustworthy read decide (dm/verify.py). Returns the result when it went out; None when a
    trustworthy read shows it did not (the entry is failed: a new attempt may send); raises
    TaskBlocked when nothing can tell."""
    found = verify_delivery(
        client,
        platform=entry.platform,
        username=entry.recipient,
        text=entry.text,
        baseline=entry.baseline,
        started_at=entry.attempt_started_at,
    )
    if found is True:
        campaign = (sender.campaign_id, sender.contact_id)
        return sent_verified(attempt, entry, f"{what}; verified in the conversation", campaign)
    if found is None:
        raise block(
            entry,
            f"{limits.label(entry.platform)}: {what} and no trustworthy read can confirm it; "
            "decide: mark sent, or send again",
            now=attempt.now(),
        )
    services.ledger_failed(
        entry=entry, error=f"{what}; a trustworthy read shows it was not sent", now=attempt.now()
    )
    return None


def comment_deliver(
    attempt: Attempt,
    *,
    sender: Sender,
    client: CommentsClient,
    post_url: str,
    text: str,
) -> dict[str, Any]:
    """Post `text` on `post_url` at most once. No read-back exists: unsure means blocked."""
    account = sender.account()
    entry = _entry(sender.key)
    if entry is not None:
        finished = _resume_comment(entry, attempt)
        if finished is not None:
            return finished
    spec = services.SendSpec(
        sender.key, sender.task_id, sender.platform, Action.COMMENT, "", post_url, text
    )
    entry = _begin(spec, account, attempt.now())
    try:
        result = client.post(sender.platform, post_url, text)
    except SendOutcomeUnknown as exc:
        # No trustworthy read-back exists for comments: a human looks at the post.
        raise block(
            entry,
            f"{limits.label(sender.platform)}: the comment's outcome is unknown ({exc}); check "
            "the post, then decide: mark sent, or send again",
            now=attempt.now(),
        ) from exc
    finished = outcome(attempt, entry, result, campaign=(sender.campaign_id, sender.contact_id))
    details = posted_details(result.raw)
    if details.get("postedText") not in (None, text):
        attempt.event("comment.rewritten", f"the service posted: {details['postedText'][:200]}")
    return {**finished, **details}


def _resume_comment(entry: SendLedger, attempt: Attempt) -> dict[str, Any] | None:
    """An earlier attempt may have posted, and no service reads a comment back: only a human
    looking at the post can tell. Returns the result when it was sent; None to post."""
    if entry.state == L.SENT:
        return done(entry, "already posted (ledger)")
    if entry.state == L.FAILED:
        return None
    raise block(
        entry,
        f"{limits.label(entry.platform)}: an earlier attempt was interrupted mid-post and a "
        "comment cannot be read back; check the post, then decide: mark sent, or send again",
        now=attempt.now(),
    )


def send_recover(*, task: Task, now: datetime) -> bool:
    """The reaper found a send whose worker vanished. Mark its ledger entry unknown so the
    next attempt verifies first; let the core retry it (return False). With no retry left,
    block it for a human rather than fail a send that may have gone out."""
    from scheduler.lifecycle import S, transition

    entry = SendLedger.objects.filter(idempotency_key=task.idempotency_key or "").first()
    if entry is None or entry.state != L.ATTEMPTING:
        return False
    services.ledger_mark(
        entry=entry,
        state=L.UNKNOWN,
        note=f"worker lost during attempt {task.attempt}; the next attempt verifies first",
        now=now,
    )
    if task.retry_count < task.max_retries:
        return False
    reason = "the worker was lost mid-send and no retry is left; decide: mark sent, or send again"
    services.ledger_mark(entry=entry, state=L.BLOCKED, note=reason, now=now)
    return transition(
        task.pk,
        source=[S.RUNNING],
        target=S.BLOCKED,
        kind="task.blocked",
        message=reason,
        attempt=task.attempt,
        wait_reason=reason,
    )
