"""Reads: counts from the ledger, limit verdicts, gates, and the platforms' status."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Max
from django.utils import timezone

from dm import limits
from dm.accounts import account_get_or_create, limit_config, limit_get_or_create
from dm.models import COUNTED_STATES, AccountLimit, Action, PlatformAccount, SendLedger
from dm.platforms import DM_PLATFORMS
from scheduler.models import Pause
from scheduler.planning import Gate

GATE_PREFIX = "platform"


def gate_key(*, action: str, platform: str, account: str, host: str) -> str:
    return f"{GATE_PREFIX}:{action}:{platform}:{account}:{host}"


def parse_gate_key(key: str) -> tuple[str, str, str, str]:
    _, action, platform, account, host = key.split(":", 4)
    return action, platform, account, host


def sent_times(limit: AccountLimit, *, now: datetime) -> list[datetime]:
    """Start times of the sends in the last 24 h that may have gone out (counted states)."""
    return list(
        SendLedger.objects.filter(
            account_id=limit.account_id,
            action=limit.action,
            state__in=COUNTED_STATES,
            attempt_started_at__gt=now - limits.DAY,
            attempt_started_at__lte=now,
        ).values_list("attempt_started_at", flat=True)
    )


def limit_state(limit: AccountLimit, *, now: datetime) -> limits.LimitState:
    return limits.LimitState(
        sent_times=tuple(sent_times(limit, now=now)),
        next_allowed_at=limit.next_allowed_at,
        cooldown_until=limit.cooldown_until,
    )


def limit_verdict(limit: AccountLimit, *, now: datetime) -> limits.Verdict:
    return limits.evaluate(
        limit_config(limit), limit_state(limit, now=now), now, platform=limit.account.platform
    )


def probe(keys: Iterable[str], now: datetime) -> Mapping[str, Gate]:
    """The `platform:` gates, from stored state only (ledger, limit rows); never HTTP."""
    gates: dict[str, Gate] = {}
    for key in keys:
        try:
            action, platform, handle, host = parse_gate_key(key)
            account = account_get_or_create(platform=platform, handle=handle, host=host)
        except Exception as exc:  # a task naming an unknown account waits, visibly
            gates[key] = Gate(available=0, reason=f"unknown account: {exc}")
            continue
        limit = limit_get_or_create(account=account, action=action)
        held = action_hold(limit)
        gates[key] = (
            Gate(available=0, reason=held) if held else limit_verdict(limit, now=now).gate()
        )
    return gates


def action_hold(limit: AccountLimit) -> str | None:
    """Why a failed probe holds this action (not DMs: their health pause holds the platform's
    account), or None. Only this action of this account waits; the next good probe frees it."""
    if limit.action == Action.DM or limit.healthy is not False:
        return None
    what = f"{limits.label(limit.account.platform)} {limit.action}s"
    return f"{what}: {limit.health_reason or 'unhealthy'}"


def action_holds(account: PlatformAccount) -> dict[str, str]:
    """The account's other actions that a failed probe holds, with their reasons."""
    rows = AccountLimit.objects.filter(account=account, healthy=False).exclude(action=Action.DM)
    return {row.action: held for row in rows if (held := action_hold(row))}


def today_count(limit: AccountLimit, *, now: datetime) -> int:
    """Sends since local midnight in the account's zone: "today" on screens."""
    zone = ZoneInfo(limit.account.timezone)
    midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return SendLedger.objects.filter(
        account_id=limit.account_id,
        action=limit.action,
        state__in=COUNTED_STATES,
        attempt_started_at__gte=midnight,
        attempt_started_at__lte=now,
    ).count()


def _pause_reason(account: PlatformAccount) -> tuple[str | None, str | None]:
    """(user pause reason, health pause reason) that hold this account, if any."""
    user = health = None
    for pause in Pause.objects.filter(platform__in=["", account.platform]):
        if pause.scope == "account" and pause.account != account.handle:
            continue
        if pause.kind == "health":
            health = pause.reason or "health pause"
        else:
            user = pause.reason or "paused"
    return user, health


NOT_CHECKED = "not checked yet: no probe has seen this service"


def account_status(
    account: PlatformAccount, *, action: str = "dm", now: datetime | None = None
) -> dict[str, Any]:
    """One account in the CONTRACTS.md platforms shape, plus our details."""
    now = now or timezone.now()
    limit = limit_get_or_create(account=account, action=action)
    verdict = limit_verdict(limit, now=now)
    user_pause, health_pause = _pause_reason(account)
    last = SendLedger.objects.filter(account=account, action=action).aggregate(
        last=Max("attempt_started_at")
    )["last"]
    cooldown = limit.cooldown_until if limit.cooldown_until and limit.cooldown_until > now else None
    wait = user_pause or health_pause or verdict.reason
    checked = limit.last_probe_at is not None  # never "ready" on a guess: a probe must see it
    # Only the minimum gap after the last send holds it: sending normally, not rate-limited.
    between_sends = bool(
        not (user_pause or health_pause or cooldown)
        and limit.next_allowed_at is not None
        and verdict.ready_at == limit.next_allowed_at
        and limit.next_allowed_at > now
    )
    return {
        "platform": account.platform,
        "account": account.handle,
        "accountId": str(account.pk),
        "safariHost": account.safari_host,
        "action": action,
        "isReady": bool(
            checked and limit.logged_in is not False and not wait and verdict.allowed > 0
        ),
        "checked": checked,
        "isLoggedIn": limit.logged_in,
        "healthy": limit.healthy,
        "healthReason": limit.health_reason,
        "lastProbeAt": limit.last_probe_at,
        "cooldownUntil": cooldown,
        "nextAllowedAt": limit.next_allowed_at
        if limit.next_allowed_at and limit.next_allowed_at > now
        else None,
        "messagesThisHour": verdict.hour_count,
        "messagesToday": today_count(limit, now=now),
        "messagesLast24h": verdict.day_count,
        "limits": {
            "hourly": verdict.hourly_cap,
            "daily": verdict.daily_cap,
            "configuredHourly": limit.hourly_cap,
            "configuredDaily": limit.daily_cap,
            "minGapSeconds": limit.min_gap_seconds,
            "maxGapSeconds": limit.max_gap_seconds,
        },
        "activeHours": {
            "start": account.active_start.strftime("%H:%M"),
            "end": account.active_end.strftime("%H:%M"),
            "timezone": account.timezone,
        },
        "automation": account.automation_enabled,
        "paused": user_pause,
        "healthPause": health_pause,
        "waitReason": wait or (None if checked else NOT_CHECKED),
        "actionHolds": action_holds(account) if action == Action.DM else {},
        "betweenSends": between_sends,
        "lastActivity": last,
    }


def platforms_status(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every DM platform's default account (made lazily) and every other DM account."""
    now = now or timezone.now()
    for platform in DM_PLATFORMS:
        account_get_or_create(platform=platform)
    accounts = PlatformAccount.objects.filter(platform__in=DM_PLATFORMS)
    return [account_status(account, now=now) for account in accounts]


def recipient_last_sent(
    *, platform: str, recipient: str, exclude_key: str, since: datetime
) -> datetime | None:
    """When we last (maybe) sent this recipient a DM ourselves, within `since`."""
    last: datetime | None = (
        SendLedger.objects.filter(
            platform=platform,
            action="dm",
            recipient__iexact=recipient,
            state__in=COUNTED_STATES,
            attempt_started_at__gte=since,
        )
        .exclude(idempotency_key=exclude_key)
        .aggregate(last=Max("attempt_started_at"))["last"]
    )
    return last


def ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 24 else f"{hours:.1f} hours"
