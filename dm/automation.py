"""DM automation: inside a platform's window, campaigns feed DM tasks and the inbox is synced.

`automation_set` (behind `scheduler dm --platform … --start … --end …`) sets the window, turns
automation on and makes sure two django-q2 `Schedule`s exist for the platform on this host's
cluster. Their functions only create Task rows; the dispatcher runs those like any other task.
Missed runs are not caught up (Q_CLUSTER `catch_up` is off).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.utils import timezone

from crm.client import CrmError, get_client
from dm import selectors, services
from dm.accounts import account_get_or_create, check_platform, limit_get_or_create
from dm.models import PlatformAccount
from scheduler.models import ACTIVE_STATUSES, QUEUE_STATUSES, Task
from scheduler.planning import active_window
from scheduler.recurring import schedule_upsert

SCHEDULES = (
    ("sync", "dm.automation.sync_tick", "DM_SYNC_CRON"),
    ("outreach", "dm.automation.outreach_tick", "DM_OUTREACH_CRON"),
)


def automation_set(
    *,
    platform: str,
    start: time | None = None,
    end: time | None = None,
    enabled: bool = True,
    account: str = "",
    host: str | None = None,
) -> PlatformAccount:
    """Set the window and switch automation on (or off) for one account (default: the host's)."""
    check_platform(platform)
    acct = account_get_or_create(platform=platform, handle=account, host=host)
    services.account_update(account=acct, active_start=start, active_end=end, automation=enabled)
    schedules_ensure(platform=platform, host=acct.safari_host)
    if enabled:
        services.probe_schedule(account=acct)
    return acct


def schedules_ensure(*, platform: str, host: str) -> list[str]:
    """The recurring schedules of one platform on one host (idempotent)."""
    names = []
    for kind, func, setting in SCHEDULES:
        name = f"dm-{kind}:{platform}:{host}"
        schedule_upsert(
            name=name, func=func, cron=getattr(settings, setting), host=host, args=(platform, host)
        )
        names.append(name)
    return names


def _automated(platform: str, host: str, now: datetime) -> list[PlatformAccount]:
    """Accounts with automation on whose window is open now."""
    return [
        account
        for account in PlatformAccount.objects.filter(
            platform=platform, safari_host=host, automation_enabled=True
        )
        if active_window(now, account.timezone, account.active_start, account.active_end).is_open
    ]


def sync_tick(platform: str, host: str, now: datetime | None = None) -> list[int]:
    """Queue one inbox sync per automated account in its window: one per schedule slot (the
    minute it fires; DM_SYNC_CRON says how often), never while the last one has not run."""
    now = now or timezone.now()
    created = []
    for account in _automated(platform, host, now):
        if services.sync_queued(account=account, statuses=(*QUEUE_STATUSES, *ACTIVE_STATUSES)):
            continue
        task, new = services.sync_schedule(
            account=account, at=now, key=f"{now:%Y%m%d%H%M}", now=now
        )
        if new:
            created.append(task.pk)
    return created


def outreach_tick(platform: str, host: str, now: datetime | None = None) -> list[int]:
    """Queue DM tasks for active campaigns' next targets, never more than the caps leave."""
    now = now or timezone.now()
    created: list[int] = []
    for account in _automated(platform, host, now):
        limit = limit_get_or_create(account=account, action="dm")
        verdict = selectors.limit_verdict(limit, now=now)
        queued = Task.objects.filter(
            type="dm",
            platform=platform,
            account=account.handle,
            safari_host=host,
            status__in=[*QUEUE_STATUSES, *ACTIVE_STATUSES],
        ).count()
        room = verdict.remaining - queued
        if room <= 0:
            continue
        created += _campaign_tasks(account, room, queued, now)
    return created


def _campaign_tasks(account: PlatformAccount, room: int, queued: int, now: datetime) -> list[int]:
    crm = get_client()
    created: list[int] = []
    try:
        campaigns = crm.campaigns_active(platform=account.platform)
    except CrmError:
        return created
    for campaign in campaigns:
        if room <= 0:
            break
        try:
            targets: list[dict[str, Any]] = crm.campaign_targets(
                campaign_id=str(campaign["id"]), platform=account.platform, limit=room + queued
            )
        except CrmError:
            continue
        for target in targets:
            if room <= 0:
                break
            contact_id = str(target["contact"]["id"])
            task, new = services.dm_send(
                platform=account.platform,
                username=target["username"],
                text=target["message"],
                account=account.handle,
                host=account.safari_host,
                priority=4,
                idempotency_key=f"campaign:{campaign['id']}:{contact_id}:{account.platform}",
                extra={"campaignId": str(campaign["id"]), "contactId": contact_id},
            )
            if new:
                created.append(task.pk)
                room -= 1
    return created
