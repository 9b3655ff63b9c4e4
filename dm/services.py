"""Writes of the dm app: the send ledger, limits and cooldowns, health, account settings, and
queueing sends. Every state change of a send is an event row in the same transaction."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dm import limits, selectors
from dm.accounts import (
    account_get_or_create,
    check_platform,
    limit_config,
    limit_get_or_create,
)
from dm.models import (
    LIMIT_BOUNDS,
    AccountLimit,
    Action,
    LedgerState,
    PlatformAccount,
    SendLedger,
)
from dm.platforms import COMMENT_PLATFORMS, DM_PLATFORMS
from scheduler import events
from scheduler.models import PauseKind, Task
from scheduler.services import (
    scheduler_pause,
    scheduler_resume,
    task_reschedule,
    task_schedule,
)

L = LedgerState


class LimitClosed(Exception):
    """A limit forbids sending now: nothing was attempted. `until` may be None (a human)."""

    def __init__(self, until: datetime | None, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


@dataclass(frozen=True)
class SendSpec:
    """What one send is: who, where, what, under which key."""

    key: str
    task_id: int | None
    platform: str
    action: str
    recipient: str
    post_url: str
    text: str
    baseline: int | None = None  # matching outbound messages seen before (dm/verify.py)


def _record(kind: str, entry: SendLedger, message: str = "", **data: Any) -> None:
    events.record(
        kind,
        subject="send",
        subject_id=entry.idempotency_key,
        task_id=entry.task_id,
        message=message,
        data={
            "platform": entry.platform,
            "account": entry.account.handle,
            "action": entry.action,
            "recipient": entry.recipient or entry.post_url,
            "state": entry.state,
            **data,
        },
    )


# --- the ledger ------------------------------------------------------------------------------


def ledger_begin(*, spec: SendSpec, account: PlatformAccount, now: datetime) -> SendLedger:
    """Check the limits and write the entry *attempting*, in one transaction that the caller
    must let commit before calling the service. Raises LimitClosed when a limit says no."""
    with transaction.atomic():
        # Lock the limit row first: on Postgres a row lock, on SQLite the immediate
        # transaction already serialises writers.
        limit = AccountLimit.objects.select_for_update().get(
            pk=limit_get_or_create(account=account, action=spec.action).pk
        )
        verdict = selectors.limit_verdict(limit, now=now)
        if verdict.allowed < 1:
            raise LimitClosed(verdict.ready_at, verdict.reason)
        entry = SendLedger.objects.select_for_update().filter(idempotency_key=spec.key).first()
        if entry is None:
            entry = SendLedger(idempotency_key=spec.key, attempts=0)
        elif entry.state not in (L.FAILED,):
            raise ValueError(f"ledger entry {spec.key} is {entry.state}; it cannot start again")
        entry.task_id = spec.task_id
        entry.platform = spec.platform
        entry.account = account
        entry.action = spec.action
        entry.recipient = spec.recipient
        entry.post_url = spec.post_url
        entry.text = spec.text
        entry.state = L.ATTEMPTING
        entry.verified = None
        entry.attempts += 1
        entry.attempt_started_at = now
        entry.baseline = spec.baseline
        entry.finished_at = None
        entry.error = ""
        entry.save()
        # Hold the gap from now: no second send starts while this one is in the air.
        limit.next_allowed_at = max(
            filter(None, [limit.next_allowed_at, now + timedelta(seconds=limit.min_gap_seconds)])
        )
        limit.last_activity_at = now
        limit.save(update_fields=["next_allowed_at", "last_activity_at"])
        _record("send.attempting", entry, f"sending to {spec.recipient or spec.post_url}")
    return entry


def ledger_sent(
    *,
    entry: SendLedger,
    verified: bool | None,
    now: datetime,
    how: str = "service",
    jitter: float | None = None,
    warning: str = "",
) -> SendLedger:
    """The send went out: mark it sent and draw the account's next allowed time. A `warning`
    (the service sent in a way worth a look) is kept on the entry and raised as an event."""
    with transaction.atomic():
        entry.state = L.SENT
        entry.verified = verified
        entry.finished_at = now
        entry.error = warning or ("" if verified is not False else "sent, not verified")
        entry.save(update_fields=["state", "verified", "finished_at", "error"])
        limit = AccountLimit.objects.select_for_update().get(
            account_id=entry.account_id, action=entry.action
        )
        draw = random.random() if jitter is None else jitter
        limit.next_allowed_at = max(
            filter(
                None,
                [limit.next_allowed_at, limits.draw_next_allowed(now, limit_config(limit), draw)],
            )
        )
        limit.cooldown_level = 0
        limit.last_activity_at = now
        limit.save(update_fields=["next_allowed_at", "cooldown_level", "last_activity_at"])
        _record(
            "send.sent",
            entry,
            f"sent to {entry.recipient or entry.post_url} ({how})",
            verified=verified,
            how=how,
            next_allowed_at=limit.next_allowed_at.isoformat(),
        )
        if warning:
            _record("send.warning", entry, warning[:300], warning=warning)
    if entry.action == Action.DM:
        reply_check_schedule(account=entry.account, now=now)
    return entry


def ledger_failed(*, entry: SendLedger, error: str, now: datetime) -> SendLedger:
    """Nothing went out: the entry no longer counts, and a later attempt may send."""
    with transaction.atomic():
        entry.state = L.FAILED
        entry.finished_at = now
        entry.error = error[:2000]
        entry.save(update_fields=["state", "finished_at", "error"])
        _record("send.failed", entry, error[:300])
    return entry


def ledger_limited(
    *, entry: SendLedger, retry_after: datetime | None, reason: str, now: datetime
) -> datetime:
    """A 429 or a reported limit: nothing sent; start (or double) the cooldown. Returns its end."""
    with transaction.atomic():
        entry.state = L.FAILED
        entry.finished_at = now
        entry.error = f"limited: {reason}"[:2000]
        entry.save(update_fields=["state", "finished_at", "error"])
        limit = AccountLimit.objects.select_for_update().get(
            account_id=entry.account_id, action=entry.action
        )
        until, level = limits.next_cooldown(
            now=now,
            level=limit.cooldown_level,
            retry_after=retry_after,
            base_seconds=settings.DM_COOLDOWN_BASE_SECONDS,
            cap_seconds=settings.DM_COOLDOWN_CAP_SECONDS,
        )
        limit.cooldown_until = until
        limit.cooldown_level = level
        limit.save(update_fields=["cooldown_until", "cooldown_level"])
        _record(
            "send.limited",
            entry,
            f"{limits.label(entry.platform)} limited: {reason}; cooling down until "
            f"{until.isoformat()}",
            cooldown_until=until.isoformat(),
            cooldown_level=level,
        )
        events.record(
            "platform.cooldown",
            subject="platform",
            subject_id=f"{entry.platform}/{entry.account.handle}",
            message=f"cooldown until {until.isoformat()}: {reason}",
            data={"until": until.isoformat(), "level": level},
        )
    return until


def ledger_mark(*, entry: SendLedger, state: str, note: str, now: datetime) -> SendLedger:
    """Unknown (worker lost mid-send) or blocked (waiting for a human)."""
    with transaction.atomic():
        entry.state = state
        entry.error = note[:2000]
        if state == L.BLOCKED:
            entry.finished_at = now
        entry.save(update_fields=["state", "error", "finished_at"])
        _record(f"send.{state}", entry, note[:300])
    return entry


def ledger_decide(*, task: Task, decision: str, now: datetime | None = None) -> None:
    """A human decided a blocked send: 'sent' (it went out) or 'resend' (it did not)."""
    now = now or timezone.now()
    entry = SendLedger.objects.filter(idempotency_key=task.idempotency_key or "").first()
    if entry is None:
        return
    if decision == "sent":
        ledger_sent(entry=entry, verified=None, now=now, how="decided by a human")
    else:
        ledger_failed(entry=entry, error="a human decided to send again", now=now)


# --- health -----------------------------------------------------------------------------------


def health_store(
    *,
    account: PlatformAccount,
    action: str,
    healthy: bool,
    logged_in: bool | None,
    reason: str,
    service_limits: dict[str, Any] | None,
    now: datetime,
) -> AccountLimit:
    """Store a probe's result. For DMs a bad one sets the platform's health pause and a good one
    lifts it; any other action (comments) is held on its own: its `platform:<action>` gate
    stays shut while the row is unhealthy (dm/selectors.py), and the platform's DMs go on."""
    with transaction.atomic():
        limit = AccountLimit.objects.select_for_update().get(
            pk=limit_get_or_create(account=account, action=action).pk
        )
        if not healthy:
            reason = down_since(
                reason, previous=limit.health_reason if limit.healthy is False else "", now=now
            )
        limit.healthy = healthy
        limit.logged_in = logged_in
        limit.health_reason = reason[:300]
        limit.last_probe_at = now
        limit.probe_failures = 0 if healthy else limit.probe_failures + 1
        if service_limits is not None:
            limit.service_limits = service_limits
        limit.save()
        events.record(
            "platform.probed",
            subject="platform",
            subject_id=f"{account.platform}/{account.handle}",
            message=reason or "healthy",
            data={"healthy": healthy, "loggedIn": logged_in, "action": action},
        )
        if action == Action.DM:
            _health_pause(account, healthy=healthy, reason=reason)
    return limit


_DOWN = re.compile(r"^service down(?: since (\d\d:\d\d))?:? ?")


def down_since(reason: str, *, previous: str, now: datetime) -> str:
    """ "service down: …" reads "service down since HH:MM: …", HH:MM the first failure of this
    outage (kept from the previous reason while the service stays down). Other reasons pass."""
    match = _DOWN.match(reason)
    if match is None:
        return reason
    before = _DOWN.match(previous)
    since = (before and before.group(1)) or f"{timezone.localtime(now):%H:%M}"
    return f"service down since {since}: {reason[match.end() :]}"


def _health_pause(account: PlatformAccount, *, healthy: bool, reason: str) -> None:
    """The DM service's health holds (or frees) the platform's account through a pause."""
    if healthy:
        scheduler_resume(platform=account.platform, account=account.handle, kind=PauseKind.HEALTH)
    else:
        scheduler_pause(
            platform=account.platform,
            account=account.handle,
            reason=f"{limits.label(account.platform)}: {reason}",
            kind=PauseKind.HEALTH,
        )


def health_unknown(
    *,
    account: PlatformAccount,
    action: str,
    reason: str,
    service_limits: dict[str, Any] | None,
    now: datetime,
) -> AccountLimit:
    """Store a probe that could not see the session (Safari's front tab showed another site):
    neither a pause nor a resume, the last known health stands."""
    with transaction.atomic():
        limit = AccountLimit.objects.select_for_update().get(
            pk=limit_get_or_create(account=account, action=action).pk
        )
        limit.last_probe_at = now
        if service_limits is not None:
            limit.service_limits = service_limits
        limit.save(update_fields=["last_probe_at", "service_limits"])
        events.record(
            "platform.probed",
            subject="platform",
            subject_id=f"{account.platform}/{account.handle}",
            message=reason,
            data={"healthy": limit.healthy, "loggedIn": None, "action": action, "unknown": True},
        )
    return limit


def probe_delay(failures: int) -> timedelta:
    """When to probe again: the regular interval when healthy, else a capped backoff."""
    if failures <= 0:
        return timedelta(seconds=settings.DM_PROBE_INTERVAL_SECONDS)
    base = settings.DM_PROBE_BACKOFF_BASE_SECONDS
    return timedelta(
        seconds=min(base * 2 ** min(failures - 1, 20), settings.DM_PROBE_BACKOFF_CAP_SECONDS)
    )


def probe_schedule(
    *, account: PlatformAccount, action: str = Action.DM, at: datetime | None = None
) -> Task:
    """Queue a probe of an account unless one is already queued (the probe chain)."""
    queued = Task.objects.filter(
        type="probe",
        status__in=["pending", "scheduled", "running"],
        payload__platform=account.platform,
        payload__account=account.handle,
        payload__action=action,
        safari_host=account.safari_host,
    ).first()
    if queued is not None and queued.status != "running":
        return queued
    task, _ = task_schedule(
        type="probe",
        name=f"probe {account.platform}/{account.handle} {action}",
        safari_host=account.safari_host,
        priority=2,
        scheduled_for=at,
        payload={"platform": account.platform, "account": account.handle, "action": action},
    )
    return task


# --- inbox syncs ------------------------------------------------------------------------------


def sync_queued(*, account: PlatformAccount, statuses: tuple[str, ...]) -> bool:
    """Whether a sync of this account is in one of `statuses` already."""
    return Task.objects.filter(
        type="sync",
        platform=account.platform,
        account=account.handle,
        safari_host=account.safari_host,
        status__in=statuses,
    ).exists()


def sync_schedule(
    *, account: PlatformAccount, at: datetime, key: str, now: datetime, why: str = ""
) -> tuple[Task, bool]:
    """Queue one inbox sync of an account at `at`; `key` names the slot it fills (a repeat
    returns the first, with False)."""
    return task_schedule(
        type="sync",
        name=f"sync {account.platform}/{account.handle} inbox{why}",
        platform=account.platform,
        account=account.handle,
        safari_host=account.safari_host,
        priority=4,
        scheduled_for=at,
        payload={"platform": account.platform},
        idempotency_key=f"sync:{account.platform}:{account.handle}:{account.safari_host}:{key}",
        now=now,
    )


def reply_check_schedule(*, account: PlatformAccount, now: datetime) -> Task | None:
    """After a DM goes out, sync that inbox DM_REPLY_CHECK_SECONDS later, so a quick answer
    shows without waiting for the scheduled sync (0, the default, leaves it to the schedule;
    the demo checks after a few seconds). A sync still waiting to start covers it."""
    seconds = settings.DM_REPLY_CHECK_SECONDS
    if seconds <= 0 or sync_queued(account=account, statuses=("pending",)):
        return None
    at = now + timedelta(seconds=seconds)
    task, _ = sync_schedule(
        account=account, at=at, key=f"{at:%Y%m%d%H%M%S}", now=now, why=" (replies)"
    )
    return task


def probes_on_lead(now: datetime) -> list[Task]:
    """A dispatcher took the lead: probe every DM account's service and every configured
    comment service now (platforms are probed, not assumed), moving a chained probe that was
    due later to now."""
    probes: list[Task] = []
    for platform in DM_PLATFORMS:
        account_get_or_create(platform=platform)
    for account in PlatformAccount.objects.filter(platform__in=DM_PLATFORMS):
        probes.append(_probe_now(account, Action.DM, now))
    comments = [p for p in COMMENT_PLATFORMS if settings.SERVICE_URLS.get(f"{p}_comments")]
    for commented in comments:
        account_get_or_create(platform=commented)
    for account in PlatformAccount.objects.filter(platform__in=comments):
        probes.append(_probe_now(account, Action.COMMENT, now))
    return probes


def _probe_now(account: PlatformAccount, action: str, now: datetime) -> Task:
    task = probe_schedule(account=account, action=action, at=now)
    if task.status == "pending" and task.scheduled_for > now:
        task = task_reschedule(task_id=task.pk, when=now)
    return task


# --- sends ------------------------------------------------------------------------------------


def dm_send(
    *,
    platform: str,
    username: str,
    text: str,
    account: str = "",
    scheduled_for: datetime | None = None,
    priority: int = 3,
    idempotency_key: str | None = None,
    thread_id: str | None = None,
    extra: dict[str, Any] | None = None,
    host: str | None = None,
    client: str | None = None,
    request_hash: str = "",
) -> tuple[Task, bool]:
    """Queue a DM task (to a user, or a reply in a known thread) on the named or default account.

    One transaction: a refused task leaves no lazily made default account behind either.
    """
    check_platform(platform)
    username = username.strip().lstrip("@")
    if not username and not thread_id:
        raise ValidationError({"username": "name the recipient"})
    if not text.strip():
        raise ValidationError({"text": "the message is empty"})
    with transaction.atomic():
        return _dm_task(
            platform=platform,
            username=username,
            text=text,
            account=account,
            scheduled_for=scheduled_for,
            priority=priority,
            idempotency_key=idempotency_key,
            thread_id=thread_id,
            extra=extra,
            host=host,
            client=client,
            request_hash=request_hash,
        )


def _dm_task(
    *,
    platform: str,
    username: str,
    text: str,
    account: str,
    scheduled_for: datetime | None,
    priority: int,
    idempotency_key: str | None,
    thread_id: str | None,
    extra: dict[str, Any] | None,
    host: str | None,
    client: str | None,
    request_hash: str,
) -> tuple[Task, bool]:
    acct = account_get_or_create(platform=platform, handle=account, host=host)
    payload: dict[str, Any] = {"username": username, "text": text, **(extra or {})}
    if thread_id:
        payload["threadId"] = thread_id
    return task_schedule(
        type="dm",
        name=f"DM @{username or thread_id} on {limits.label(platform)}",
        platform=platform,
        account=acct.handle,
        safari_host=acct.safari_host,
        priority=priority,
        scheduled_for=scheduled_for,
        payload=payload,
        idempotency_key=idempotency_key,
        client=client,
        request_hash=request_hash,
    )


def comment_post(
    *,
    platform: str,
    post_url: str,
    text: str,
    account: str = "",
    scheduled_for: datetime | None = None,
    priority: int = 3,
    idempotency_key: str | None = None,
) -> tuple[Task, bool]:
    check_platform(platform, Action.COMMENT)
    acct = account_get_or_create(platform=platform, handle=account)
    return task_schedule(
        type="comment",
        name=f"comment on {post_url}",
        platform=platform,
        account=acct.handle,
        safari_host=acct.safari_host,
        priority=priority,
        scheduled_for=scheduled_for,
        payload={"postUrl": post_url, "text": text},
        idempotency_key=idempotency_key,
    )


# --- account settings -------------------------------------------------------------------------


def account_update(
    *,
    account: PlatformAccount,
    action: str = Action.DM,
    hourly_cap: int | None = None,
    daily_cap: int | None = None,
    min_gap_seconds: int | None = None,
    max_gap_seconds: int | None = None,
    active_start: time | None = None,
    active_end: time | None = None,
    tz: str | None = None,
    automation: bool | None = None,
    paused: bool | None = None,
    pause_reason: str = "",
    clear_cooldown: bool = False,
) -> PlatformAccount:
    """Change an account's limits, window, automation flag or (user) pause."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    with transaction.atomic():
        limit = AccountLimit.objects.select_for_update().get(
            pk=limit_get_or_create(account=account, action=action).pk
        )
        for name, value in (
            ("hourly_cap", hourly_cap),
            ("daily_cap", daily_cap),
            ("min_gap_seconds", min_gap_seconds),
            ("max_gap_seconds", max_gap_seconds),
        ):
            if value is not None:
                if isinstance(value, bool) or not 0 <= value <= LIMIT_BOUNDS[name]:
                    raise ValidationError(
                        {name: f"{name} must be between 0 and {LIMIT_BOUNDS[name]}"}
                    )
                setattr(limit, name, value)
        if limit.max_gap_seconds < limit.min_gap_seconds:
            raise ValidationError({"max_gap_seconds": "the maximum gap is below the minimum"})
        if clear_cooldown:
            limit.cooldown_until = None
            limit.cooldown_level = 0
        limit.save()
        if tz is not None:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationError({"timezone": f"unknown time zone {tz!r}"}) from None
            account.timezone = tz
        if active_start is not None:
            account.active_start = active_start
        if active_end is not None:
            account.active_end = active_end
        if automation is not None:
            account.automation_enabled = automation
        account.save()
        events.record(
            "platform.updated",
            subject="platform",
            subject_id=f"{account.platform}/{account.handle}",
            message=f"{account} {action} settings changed",
            data={"action": action},
        )
        if paused is True:
            scheduler_pause(
                platform=account.platform,
                account=account.handle,
                reason=pause_reason or f"{account} paused by a user",
            )
        elif paused is False:
            scheduler_resume(platform=account.platform, account=account.handle)
    return account
