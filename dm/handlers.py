"""Task handlers: dm, comment, discovery, sync, probe.

A send (dm, comment) is at most once: the ledger entry is written *attempting* and committed
before the service is called, then marked sent or failed. An attempt that finds its entry still
attempting (the worker was killed, the answer was lost) verifies through the service before it
ever sends again, and blocks for a human when it cannot tell.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from crm.client import CrmError, get_client
from dm import limits, selectors, services, syncing
from dm.accounts import account_get_or_create, limit_get_or_create
from dm.clients import CommentsClient, SendOutcomeUnknown, SendResult, UnifiedDMClient
from dm.clients.comments import posted_details
from dm.clients.results import parse_time
from dm.clients.types import SessionStatus
from dm.models import Action, LedgerState, PlatformAccount, SendLedger
from dm.payloads import DiscoveryPayload
from dm.session import session_of
from dm.verify import snapshot, tab_free, verify_delivery
from safari_auto.http import ServiceError
from scheduler.errors import TaskBlocked, TaskDeferred, TaskError

if TYPE_CHECKING:
    from scheduler.models import Task
    from scheduler.runner import TaskContext

L = LedgerState
HUMAN_DEFER = timedelta(minutes=5)


def dm_client() -> UnifiedDMClient:
    """Built per use, so the base URLs are whatever the settings say now."""
    return UnifiedDMClient()


def comments_client() -> CommentsClient:
    return CommentsClient()


def _account(task: Task) -> PlatformAccount:
    return account_get_or_create(platform=task.platform, handle=task.account, host=task.safari_host)


# --- the outreach guards ----------------------------------------------------------------------


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


def _crm_log(ctx: TaskContext, entry: SendLedger) -> None:
    """Log the sent message into the CRM; a failure is an event, never an unsent DM."""
    crm = get_client()
    try:
        crm.message_log(
            platform=entry.platform,
            username=entry.recipient,
            text=entry.text,
            direction="outbound",
            sent_at=entry.finished_at or timezone.now(),
            by_automation=True,
        )
        campaign, contact = ctx.payload.get("campaignId"), ctx.payload.get("contactId")
        if campaign and contact:
            crm.campaign_record_sent(campaign_id=str(campaign), contact_id=str(contact))
    except CrmError as exc:
        ctx.event("send.crm_failed", f"sent, but the CRM did not take it: {exc}")


# --- sends ------------------------------------------------------------------------------------


def _done(entry: SendLedger, note: str) -> dict[str, Any]:
    return {
        "sent": True,
        "verified": entry.verified,
        "platform": entry.platform,
        "account": entry.account.handle,
        "recipient": entry.recipient or entry.post_url,
        "sentAt": (entry.finished_at or entry.attempt_started_at).isoformat(),
        "note": note,
    }


def _block(entry: SendLedger, reason: str) -> TaskBlocked:
    services.ledger_mark(entry=entry, state=L.BLOCKED, note=reason, now=timezone.now())
    return TaskBlocked(reason, data={"ledger": entry.idempotency_key, "decide": "sent|resend"})


def _outcome(ctx: TaskContext, entry: SendLedger, result: SendResult) -> dict[str, Any]:
    """Turn a normalised answer into the ledger's next state and the attempt's end."""
    now = timezone.now()
    if result.outcome == "sent":
        services.ledger_sent(entry=entry, verified=result.verified, now=now, warning=result.warning)
        if entry.action == Action.DM:
            _crm_log(ctx, entry)
        note = "sent" if result.verified is not False else "sent, not verified"
        return _done(entry, f"{note}; {result.warning}" if result.warning else note)
    if result.outcome == "limited":
        until = services.ledger_limited(
            entry=entry, retry_after=result.retry_after, reason=result.reason, now=now
        )
        raise TaskDeferred(until, f"{limits.label(entry.platform)}: {result.reason}")
    if result.outcome == "needs_human":
        services.ledger_failed(entry=entry, error=result.reason, now=now)
        limit = services.health_store(
            account=entry.account,
            action=entry.action,
            healthy=False,
            logged_in=False if "log" in result.reason.lower() else None,
            reason=result.reason,
            service_limits=None,
            now=now,
        )
        delay = services.probe_delay(limit.probe_failures)
        services.probe_schedule(account=entry.account, action=entry.action, at=now + delay)
        raise TaskDeferred(now + delay, f"{limits.label(entry.platform)}: {result.reason}")
    services.ledger_failed(entry=entry, error=result.reason, now=now)
    if result.unreachable:  # nothing was sent: the service is down, not the send wrong
        raise _service_down(entry.account, entry.action, result.reason, now)
    raise TaskError(result.reason or "the service refused the send", permanent=not result.retryable)


def _service_down(
    account: PlatformAccount, action: str, reason: str, now: datetime
) -> TaskDeferred:
    """A service that cannot be reached is a health problem: the platform shows down (since
    when), its tasks wait instead of burning their retries, and a probe soon looks again; the
    next good probe lifts the hold."""
    limit = services.health_store(
        account=account,
        action=action,
        healthy=False,
        logged_in=None,
        reason=f"service down since {timezone.localtime(now):%H:%M}: {reason}"[:300],
        service_limits=None,
        now=now,
    )
    delay = services.probe_delay(limit.probe_failures)
    services.probe_schedule(account=account, action=action, at=now + delay)
    return TaskDeferred(now + delay, f"{limits.label(account.platform)}: service down ({reason})")


def _resume_interrupted(
    ctx: TaskContext, entry: SendLedger, client: UnifiedDMClient | None
) -> dict[str, Any] | None:
    """An earlier attempt may have sent: verify before anything else. Returns the result when
    it was sent; None when it was not (the caller sends); raises TaskBlocked when unsure."""
    if entry.state == L.SENT:
        return _done(entry, "already sent (ledger)")
    if entry.state == L.FAILED:
        return None
    return _settle_unknown(ctx, entry, client, "an earlier attempt was interrupted mid-send")


def _settle_unknown(
    ctx: TaskContext, entry: SendLedger, client: UnifiedDMClient | None, what: str
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
        services.ledger_sent(entry=entry, verified=True, now=timezone.now(), how="verified")
        if entry.action == Action.DM:
            _crm_log(ctx, entry)
        return _done(entry, f"{what}; verified in the conversation")
    if found is None:
        raise _block(
            entry,
            f"{limits.label(entry.platform)}: {what} and no trustworthy read can confirm it; "
            "decide: mark sent, or send again",
        )
    services.ledger_failed(
        entry=entry, error=f"{what}; a trustworthy read shows it was not sent", now=timezone.now()
    )
    return None


def _begin(spec: services.SendSpec, account: PlatformAccount) -> SendLedger:
    now = timezone.now()
    try:
        return services.ledger_begin(spec=spec, account=account, now=now)
    except services.LimitClosed as closed:
        raise TaskDeferred(closed.until or now + HUMAN_DEFER, closed.reason) from None


def dm(ctx: TaskContext) -> dict[str, Any]:
    """Send a DM to `username`, or reply in `threadId` (Instagram)."""
    task = ctx.task
    username = str(ctx.payload.get("username") or "").lstrip("@")
    text = str(ctx.payload.get("text") or "")
    thread_id = ctx.payload.get("threadId")
    if not text or not (username or thread_id):
        raise TaskError("a dm task needs `text` and a `username` (or `threadId`)", permanent=True)
    account = _account(task)
    key = task.idempotency_key or f"dm-task:{task.pk}"
    client = dm_client()
    entry = SendLedger.objects.filter(idempotency_key=key).select_related("account").first()
    if entry is not None:
        done = _resume_interrupted(ctx, entry, client)
        if done is not None:
            return done
    now = timezone.now()
    outreach_guard(
        platform=task.platform, username=username, key=key, reply=bool(thread_id), now=now
    )
    if not tab_free(client, task.platform):
        raise _service_down(
            account,
            Action.DM,
            "it did not answer a status call (down, or still busy with another send); "
            "nothing was sent",
            timezone.now(),
        )
    # The baseline for verifying a lost answer: read (trustworthily) before anything is sent.
    baseline = (
        None
        if thread_id
        else snapshot(client, platform=task.platform, username=username, text=text)
    )
    spec = services.SendSpec(
        key, task.pk, task.platform, Action.DM, username, "", text, baseline=baseline
    )
    entry = _begin(spec, account)
    ctx.save_progress(pid=os.getpid())  # which worker is sending, for operators and the bench
    try:
        if thread_id:
            result = client.send_to_thread(str(thread_id), text)
        else:
            result = client.send(task.platform, username, text)
    except SendOutcomeUnknown as exc:
        done = _settle_unknown(ctx, entry, client, f"the send's answer was lost ({exc})")
        if done is not None:
            return done
        raise TaskError(f"{limits.label(task.platform)}: the send did not go out: {exc}") from exc
    return _outcome(ctx, entry, result)


def _resume_comment(entry: SendLedger) -> dict[str, Any] | None:
    """An earlier attempt may have posted, and no service reads a comment back: only a human
    looking at the post can tell. Returns the result when it was sent; None to post."""
    if entry.state == L.SENT:
        return _done(entry, "already posted (ledger)")
    if entry.state == L.FAILED:
        return None
    raise _block(
        entry,
        f"{limits.label(entry.platform)}: an earlier attempt was interrupted mid-post and a "
        "comment cannot be read back; check the post, then decide: mark sent, or send again",
    )


def comment(ctx: TaskContext) -> dict[str, Any]:
    """Post a comment on `postUrl`. A comment cannot be read back: unsure means blocked."""
    task = ctx.task
    post_url = str(ctx.payload.get("postUrl") or ctx.payload.get("post_url") or "")
    text = str(ctx.payload.get("text") or "")
    if not post_url or not text:
        raise TaskError("a comment task needs `postUrl` and `text`", permanent=True)
    account = _account(task)
    key = task.idempotency_key or f"comment-task:{task.pk}"
    entry = SendLedger.objects.filter(idempotency_key=key).select_related("account").first()
    if entry is not None:
        done = _resume_comment(entry)
        if done is not None:
            return done
    spec = services.SendSpec(key, task.pk, task.platform, Action.COMMENT, "", post_url, text)
    entry = _begin(spec, account)
    ctx.save_progress(pid=os.getpid())  # which worker is posting, for operators and the tests
    try:
        result = comments_client().post(task.platform, post_url, text)
    except SendOutcomeUnknown as exc:
        # No trustworthy read-back exists for comments: a human looks at the post.
        raise _block(
            entry,
            f"{limits.label(task.platform)}: the comment's outcome is unknown ({exc}); check "
            "the post, then decide: mark sent, or send again",
        ) from exc
    done = _outcome(ctx, entry, result)
    details = posted_details(result.raw)
    if details.get("postedText") not in (None, text):
        ctx.event("comment.rewritten", f"the service posted: {details['postedText'][:200]}")
    return {**done, **details}


# --- recovery and decisions -----------------------------------------------------------------


def recover(task: Task) -> bool:
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
        now=timezone.now(),
    )
    if task.retry_count < task.max_retries:
        return False
    reason = "the worker was lost mid-send and no retry is left; decide: mark sent, or send again"
    services.ledger_mark(entry=entry, state=L.BLOCKED, note=reason, now=timezone.now())
    return transition(
        task.pk,
        source=[S.RUNNING],
        target=S.BLOCKED,
        kind="task.blocked",
        message=reason,
        attempt=task.attempt,
        wait_reason=reason,
    )


def on_decide(task: Task, decision: str) -> None:
    services.ledger_decide(task=task, decision=decision)


# --- discovery, sync, probe ------------------------------------------------------------------


def discovery(ctx: TaskContext) -> dict[str, Any]:
    """Find prospects through the platform's service and upsert the qualifying ones in the CRM."""
    platform = ctx.task.platform or str(ctx.payload.get("platform") or "")
    # Only the criteria its payload spec declares reach the service (checked at creation).
    criteria = {k: v for k, v in ctx.payload.items() if k in DiscoveryPayload().fields}
    try:
        candidates = dm_client().discover(platform, **criteria)
    except ServiceError as exc:
        raise TaskError(f"discovery failed: {exc}", permanent=exc.permanent) from exc
    crm = get_client()
    upserted: list[str] = []
    for candidate in candidates:
        if not candidate["qualifies"] or not candidate["username"]:
            continue
        try:
            crm.contact_upsert(
                platform=platform,
                username=candidate["username"],
                display_name=candidate["display_name"] or None,
            )
        except CrmError as exc:
            raise TaskError(f"the CRM refused a prospect: {exc}", permanent=exc.permanent) from exc
        upserted.append(candidate["username"])
    return {"found": len(candidates), "upserted": len(upserted), "usernames": upserted[:50]}


def sync(ctx: TaskContext) -> dict[str, Any]:
    """Pull conversations and their messages into the CRM (idempotent on the CRM side, keyed by
    handle: dm/syncing.py), and tell the dashboard's inbox about each reply the CRM stored for
    the first time, so a reply is announced once however often the inbox is read."""
    platform = ctx.task.platform or str(ctx.payload.get("platform") or "")
    most = int(ctx.payload.get("limit") or 50)
    crm = get_client()
    try:
        payload, unread = syncing.inbox_read(
            dm_client(), platform, most=most, check_cancelled=ctx.check_cancelled
        )
    except ServiceError as exc:
        raise TaskError(f"sync could not read {platform}: {exc}", permanent=False) from exc
    if payload and len(unread) == len(payload):
        raise TaskError(f"sync could not read any {platform} conversation", permanent=False)
    try:
        counts = crm.sync_dm(platform=platform, conversations=payload)
    except CrmError as exc:
        raise TaskError(f"the CRM refused the sync: {exc}", permanent=exc.permanent) from exc
    replies = list(counts.get("new_replies") or [])
    _announce_replies(ctx, platform, replies)
    return {
        "conversations": len(payload),
        "newReplies": len(replies),
        "unreadable": unread[:20],
        **{k: v for k, v in counts.items() if k not in ("synced", "new_replies")},
    }


def _announce_replies(ctx: TaskContext, platform: str, replies: list[dict[str, Any]]) -> None:
    """One `dm.reply_received` event per reply the CRM stored for the first time (the newest
    20); a name-only sender is shown by name, never with an @."""
    for reply in sorted(replies, key=lambda r: str(r.get("sent_at")))[-20:]:
        name = str(reply.get("username") or "")
        who = name if reply.get("display_only") else f"@{name}"
        ctx.event(
            "dm.reply_received",
            f"{platform} {who}: {str(reply.get('text'))[:200]}",
            platform=platform,
            username=name,
            displayOnly=bool(reply.get("display_only")),
            text=str(reply.get("text") or "")[:500],
            at=reply.get("sent_at"),
            contactId=reply.get("contact_id"),
        )


def _probe_dm(
    client: UnifiedDMClient, platform: str
) -> tuple[bool | None, bool | None, str, dict[str, Any]]:
    """(healthy, logged in, reason, service limits); healthy None: the session is unknown."""
    health = client.health(platform)
    if not health["ok"]:
        return False, None, f"service down: {health['detail']}", {}
    try:
        status = client.status(platform)
    except ServiceError as exc:
        return False, None, f"no Safari session: {exc}", {}
    session = session_of(status, platform)
    if session == "logged_out":
        return False, False, "logged out: a human must log in in Safari", {}
    url = status["current_url"].lower()
    if session == "logged_in" and ("challenge" in url or "captcha" in url):
        return False, True, "CAPTCHA on screen: a human must solve it", {}
    try:
        service_limits = client.rate_limits(platform)
    except ServiceError as exc:
        return False, True, f"rate limits unreadable: {exc}", {}
    rate_status = service_limits.get("status") or {}
    if rate_status.get("suspended"):
        return False, True, f"suspended: {rate_status.get('message') or 'account suspended'}", {}
    if session == "unknown":
        return None, None, _unknown_session(status), service_limits
    return True, True, "", service_limits


def _unknown_session(status: SessionStatus) -> str:
    front = status["current_url"] or "another page"
    return f"session unknown: Safari's front tab shows {front[:200]}; the last known state stands"


def probe(ctx: TaskContext) -> dict[str, Any]:
    """Health, then session, then the service's own limits; store them; queue the next probe."""
    platform = str(ctx.payload.get("platform") or ctx.task.platform)
    action = str(ctx.payload.get("action") or Action.DM)
    account = account_get_or_create(
        platform=platform, handle=str(ctx.payload.get("account") or ""), host=ctx.task.safari_host
    )
    limit_get_or_create(account=account, action=action)
    if action == Action.DM:
        healthy, logged_in, reason, service_limits = _probe_dm(dm_client(), platform)
    else:
        healthy, logged_in, reason, service_limits = _probe_comments(comments_client(), platform)
    now = timezone.now()
    if healthy is None:  # the session could not be seen: hold nothing, look again soon
        services.health_unknown(
            account=account, action=action, reason=reason, service_limits=service_limits, now=now
        )
        failures = 1
    else:
        failures = services.health_store(
            account=account,
            action=action,
            healthy=healthy,
            logged_in=logged_in,
            reason=reason,
            service_limits=service_limits if healthy else None,
            now=now,
        ).probe_failures
    following = None
    if ctx.payload.get("chain", True):
        at = now + services.probe_delay(failures)
        following = services.probe_schedule(account=account, action=action, at=at).pk
    return {"healthy": healthy, "loggedIn": logged_in, "reason": reason, "nextProbe": following}


def _probe_comments(
    client: CommentsClient, platform: str
) -> tuple[bool | None, bool | None, str, dict[str, Any]]:
    health = client.health(platform)
    if not health["ok"]:
        return False, None, f"service down: {health['detail']}", {}
    try:
        status = client.status(platform)
    except ServiceError as exc:
        return False, None, f"no Safari session: {exc}", {}
    session = session_of(status, platform)
    if session == "logged_out":
        return False, False, "logged out: a human must log in in Safari", {}
    if session == "unknown":
        return None, None, _unknown_session(status), {}
    return True, True, "", {}
