"""Accounts and their limit rows: the CONTRACTS.md defaults, settings overrides, lazy creation.

Each platform has one default account per Safari host, created on first use; an API call or
task naming no account uses it. `DM_ACCOUNTS` adds more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from dm.limits import LimitConfig
from dm.models import AccountLimit, Action, PlatformAccount
from dm.platforms import COMMENT_PLATFORMS, DM_PLATFORMS, PLATFORMS
from scheduler.timeparse import parse_clock

DEFAULT_HANDLE = "default"


@dataclass(frozen=True)
class Defaults:
    hourly: int
    daily: int
    min_gap: int
    max_gap: int


# CONTRACTS.md: what the old services declare, per account.
DEFAULT_LIMITS: dict[tuple[str, str], Defaults] = {
    ("twitter", "dm"): Defaults(15, 100, 90, 240),
    ("tiktok", "dm"): Defaults(10, 50, 120, 300),
    ("instagram", "dm"): Defaults(10, 30, 60, 300),
    ("threads", "comment"): Defaults(5, 20, 60, 180),
    ("instagram", "comment"): Defaults(5, 15, 120, 300),
    ("tiktok", "comment"): Defaults(5, 15, 180, 300),
    ("twitter", "comment"): Defaults(10, 30, 60, 180),
}


def parse_limit_overrides(entries: list[str]) -> dict[tuple[str, str], Defaults]:
    """`platform:action=hourly/daily/min-max` entries (DM_LIMITS) into a table."""
    table: dict[tuple[str, str], Defaults] = {}
    for entry in entries:
        try:
            key, value = entry.split("=", 1)
            platform, action = key.strip().split(":", 1)
            hourly, daily, gap = value.strip().split("/")
            low, high = gap.split("-")
            table[(platform, action)] = Defaults(int(hourly), int(daily), int(low), int(high))
        except ValueError:
            raise ImproperlyConfigured(
                f"DM_LIMITS entry {entry!r} must read platform:action=hourly/daily/min-max"
            ) from None
    return table


def limit_defaults(platform: str, action: str) -> Defaults:
    overrides = parse_limit_overrides(list(settings.DM_LIMITS))
    found = overrides.get((platform, action)) or DEFAULT_LIMITS.get((platform, action))
    if found is None:
        raise ValidationError({"platform": f"{platform} has no {action} service"})
    return found


def check_platform(platform: str, action: str = Action.DM) -> str:
    known = DM_PLATFORMS if action == Action.DM else COMMENT_PLATFORMS
    if platform not in known:
        raise ValidationError(
            {"platform": f"unknown {action} platform {platform!r}; use one of {', '.join(known)}"}
        )
    return platform


def account_get_or_create(
    *, platform: str, handle: str = "", host: str | None = None, today: date | None = None
) -> PlatformAccount:
    """The named account on `host`, or the host's default one; the default is made lazily."""
    if platform not in PLATFORMS:
        raise ValidationError({"platform": f"unknown platform {platform!r}"})
    host = host or settings.SAFARI_HOST
    if handle:
        found = PlatformAccount.objects.filter(
            platform=platform, handle=handle, safari_host=host
        ).first()
        if found is not None:
            return found
        if handle != DEFAULT_HANDLE and not _configured(platform, handle, host):
            raise ValidationError({"account": f"no {platform} account {handle!r} on {host}"})
    else:
        found = PlatformAccount.objects.filter(
            platform=platform, safari_host=host, is_default=True
        ).first()
        if found is not None:
            return found
        handle = DEFAULT_HANDLE
    warm = settings.DM_WARMUP_DEFAULT_ACCOUNTS or handle != DEFAULT_HANDLE
    try:
        with transaction.atomic():
            account, _ = PlatformAccount.objects.get_or_create(
                platform=platform,
                handle=handle,
                safari_host=host,
                defaults={
                    "is_default": handle == DEFAULT_HANDLE,
                    "timezone": settings.DM_ACCOUNT_TIME_ZONE,
                    "active_start": parse_clock(settings.DM_ACTIVE_START),
                    "active_end": parse_clock(settings.DM_ACTIVE_END),
                    "warmup_started_on": (today or timezone.localdate()) if warm else None,
                    "warmup_start_percent": settings.DM_WARMUP_START_PERCENT,
                    "warmup_daily_percent": settings.DM_WARMUP_DAILY_PERCENT,
                },
            )
    except IntegrityError:  # another process made it first
        account = PlatformAccount.objects.get(platform=platform, handle=handle, safari_host=host)
    return account


def _configured(platform: str, handle: str, host: str) -> bool:
    for entry in settings.DM_ACCOUNTS:
        name, _, entry_host = entry.partition("@")
        entry_platform, _, entry_handle = name.partition(":")
        if (entry_platform, entry_handle) == (platform, handle) and (entry_host or host) == host:
            return True
    return False


def limit_get_or_create(*, account: PlatformAccount, action: str) -> AccountLimit:
    found = AccountLimit.objects.filter(account=account, action=action).first()
    if found is not None:
        return found
    base = limit_defaults(account.platform, action)
    try:
        with transaction.atomic():
            row, _ = AccountLimit.objects.get_or_create(
                account=account,
                action=action,
                defaults={
                    "hourly_cap": base.hourly,
                    "daily_cap": base.daily,
                    "min_gap_seconds": base.min_gap,
                    "max_gap_seconds": base.max_gap,
                },
            )
    except IntegrityError:
        row = AccountLimit.objects.get(account=account, action=action)
    return row


def limit_config(limit: AccountLimit) -> LimitConfig:
    account = limit.account
    return LimitConfig(
        hourly_cap=limit.hourly_cap,
        daily_cap=limit.daily_cap,
        min_gap_seconds=limit.min_gap_seconds,
        max_gap_seconds=limit.max_gap_seconds,
        tz=account.timezone,
        active_start=account.active_start,
        active_end=account.active_end,
        warmup_started_on=account.warmup_started_on,
        warmup_start_percent=account.warmup_start_percent,
        warmup_daily_percent=account.warmup_daily_percent,
    )
