"""Is a platform's service usable? Probes read health, then the Safari session, then the
service's own limits, store what they saw, and queue the next look (`probe_run`). A send that
finds the service unreachable holds the platform the same way (`service_down`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from dm import limits, services
from dm.accounts import account_get_or_create, limit_get_or_create
from dm.clients import CommentsClient, UnifiedDMClient
from dm.clients.types import SessionStatus
from dm.models import Action, PlatformAccount
from dm.session import session_of
from safari_auto.http import ServiceError
from scheduler.errors import TaskDeferred


@dataclass(frozen=True)
class ProbeReading:
    """What one probe saw. `healthy` None: the session could not be seen (hold nothing)."""

    healthy: bool | None
    logged_in: bool | None
    reason: str = ""
    service_limits: dict[str, Any] = field(default_factory=dict)


def _unknown_session(status: SessionStatus) -> str:
    front = status["current_url"] or "another page"
    return f"session unknown: Safari's front tab shows {front[:200]}; the last known state stands"


def _session_reading(
    client: UnifiedDMClient | CommentsClient, platform: str
) -> ProbeReading | tuple[SessionStatus, str]:
    """Health, then the session: a reading when one of them already decides, else the status
    and the session ("logged_in" or "unknown") to go on from."""
    health = client.health(platform)
    if not health["ok"]:
        return ProbeReading(False, None, f"service down: {health['detail']}")
    try:
        status = client.status(platform)
    except ServiceError as exc:
        return ProbeReading(False, None, f"no Safari session: {exc}")
    session = session_of(status, platform)
    if session == "logged_out":
        return ProbeReading(False, False, "logged out: a human must log in in Safari")
    return status, session


def probe_dm(client: UnifiedDMClient, platform: str) -> ProbeReading:
    seen = _session_reading(client, platform)
    if isinstance(seen, ProbeReading):
        return seen
    status, session = seen
    url = status["current_url"].lower()
    if session == "logged_in" and ("challenge" in url or "captcha" in url):
        return ProbeReading(False, True, "CAPTCHA on screen: a human must solve it")
    try:
        service_limits = client.rate_limits(platform)
    except ServiceError as exc:
        return ProbeReading(False, True, f"rate limits unreadable: {exc}")
    rate_status = service_limits.get("status") or {}
    if rate_status.get("suspended"):
        message = rate_status.get("message") or "account suspended"
        return ProbeReading(False, True, f"suspended: {message}")
    if session == "unknown":
        return ProbeReading(None, None, _unknown_session(status), service_limits)
    return ProbeReading(True, True, "", service_limits)


def probe_comments(client: CommentsClient, platform: str) -> ProbeReading:
    seen = _session_reading(client, platform)
    if isinstance(seen, ProbeReading):
        return seen
    status, session = seen
    if session == "unknown":
        return ProbeReading(None, None, _unknown_session(status))
    return ProbeReading(True, True)


def probe_run(
    *,
    platform: str,
    action: str,
    handle: str,
    host: str,
    chain: bool,
    clock: Callable[[], datetime],
) -> dict[str, Any]:
    """Probe one account's service, store what it saw (at `clock()` once the probe is done),
    queue the next probe when `chain`."""
    account = account_get_or_create(platform=platform, handle=handle, host=host)
    limit_get_or_create(account=account, action=action)
    if action == Action.DM:
        reading = probe_dm(UnifiedDMClient(), platform)
    else:
        reading = probe_comments(CommentsClient(), platform)
    now = clock()
    if reading.healthy is None:  # the session could not be seen: hold nothing, look again soon
        services.health_unknown(
            account=account,
            action=action,
            reason=reading.reason,
            service_limits=reading.service_limits,
            now=now,
        )
        failures = 1
    else:
        failures = services.health_store(
            account=account,
            action=action,
            healthy=reading.healthy,
            logged_in=reading.logged_in,
            reason=reading.reason,
            service_limits=reading.service_limits if reading.healthy else None,
            now=now,
        ).probe_failures
    following = None
    if chain:
        at = now + services.probe_delay(failures)
        following = services.probe_schedule(account=account, action=action, at=at).pk
    return {
        "healthy": reading.healthy,
        "loggedIn": reading.logged_in,
        "reason": reading.reason,
        "nextProbe": following,
    }


def service_down(
    *, account: PlatformAccount, action: str, reason: str, now: datetime
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
