"""Platform accounts, their limits and health, and the send ledger."""

from __future__ import annotations

from datetime import time

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone as tz

from dm.platforms import PLATFORM_CHOICES


class Action(models.TextChoices):
    DM = "dm"
    COMMENT = "comment"


class PlatformAccount(models.Model):
    """One account on one platform, logged in in one Safari host's browser."""

    platform = models.CharField(max_length=32, choices=PLATFORM_CHOICES)
    handle = models.CharField(
        max_length=100, help_text="Our name for the account; tasks name it in `account`."
    )
    safari_host = models.CharField(max_length=100, default="local")
    is_default = models.BooleanField(
        default=False, help_text="Used when a call names no account (one per platform and host)."
    )
    timezone = models.CharField(max_length=64, default="UTC")
    active_start = models.TimeField(default=time(9, 0))
    active_end = models.TimeField(default=time(21, 0))
    warmup_started_on = models.DateField(
        null=True, blank=True, help_text="Set for a new account: caps ramp up from this day."
    )
    warmup_start_percent = models.PositiveSmallIntegerField(default=30)
    warmup_daily_percent = models.PositiveSmallIntegerField(default=10)
    automation_enabled = models.BooleanField(
        default=False, help_text="DM automation: campaigns and inbox sync inside the window."
    )
    created_at = models.DateTimeField(default=tz.now)

    class Meta:
        ordering = ["platform", "safari_host", "-is_default", "handle"]
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "handle", "safari_host"], name="dm_account_unique"
            ),
            models.UniqueConstraint(
                fields=["platform", "safari_host"],
                condition=Q(is_default=True),
                name="dm_one_default_account_per_host",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}/{self.handle}@{self.safari_host}"


# Sane bounds of an account's limits (API, admin and CLI): beyond them no platform would
# tolerate the pace, and a gap of 10^12 s overflows every date it is added to.
MAX_HOURLY_CAP = 1000
MAX_DAILY_CAP = 10_000
MAX_GAP_SECONDS = 86_400
LIMIT_BOUNDS = {
    "hourly_cap": MAX_HOURLY_CAP,
    "daily_cap": MAX_DAILY_CAP,
    "min_gap_seconds": MAX_GAP_SECONDS,
    "max_gap_seconds": MAX_GAP_SECONDS,
}


class AccountLimit(models.Model):
    """Limits, cooldown and health of one (account, action). Counts come from the ledger."""

    account = models.ForeignKey(PlatformAccount, on_delete=models.CASCADE, related_name="limits")
    action = models.CharField(max_length=16, choices=Action.choices)
    hourly_cap = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_HOURLY_CAP)])
    daily_cap = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_DAILY_CAP)])
    min_gap_seconds = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_GAP_SECONDS)])
    max_gap_seconds = models.PositiveIntegerField(validators=[MaxValueValidator(MAX_GAP_SECONDS)])
    next_allowed_at = models.DateTimeField(
        null=True, blank=True, help_text="Drawn after each send: the minimum gap plus jitter."
    )
    cooldown_until = models.DateTimeField(null=True, blank=True)
    cooldown_level = models.PositiveSmallIntegerField(
        default=0, help_text="Limits hit since the last successful send (doubles the cooldown)."
    )
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Health, as the last probe stored it.
    logged_in = models.BooleanField(null=True, blank=True)
    healthy = models.BooleanField(null=True, blank=True)
    health_reason = models.CharField(max_length=300, blank=True, default="")
    service_limits = models.JSONField(default=dict, blank=True)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    probe_failures = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["account", "action"]
        constraints = [
            models.UniqueConstraint(fields=["account", "action"], name="dm_one_limit_per_action"),
            models.CheckConstraint(
                condition=Q(max_gap_seconds__gte=models.F("min_gap_seconds")),
                name="dm_gap_max_not_below_min",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.action}: {self.hourly_cap}/h {self.daily_cap}/day"


class LedgerState(models.TextChoices):
    ATTEMPTING = "attempting"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    BLOCKED = "blocked"


# States that may have reached the recipient: they count against the caps.
COUNTED_STATES = (
    LedgerState.ATTEMPTING,
    LedgerState.SENT,
    LedgerState.UNKNOWN,
    LedgerState.BLOCKED,
)


class SendLedger(models.Model):
    """One DM or comment, keyed by its task's idempotency key: written *attempting* and
    committed before the service is called, then marked sent or failed."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    task_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    platform = models.CharField(max_length=32)
    account = models.ForeignKey(PlatformAccount, on_delete=models.PROTECT, related_name="sends")
    action = models.CharField(max_length=16, choices=Action.choices)
    recipient = models.CharField(max_length=200, blank=True, default="")
    post_url = models.URLField(max_length=500, blank=True, default="")
    text = models.TextField()
    state = models.CharField(max_length=16, choices=LedgerState.choices)
    verified = models.BooleanField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    attempt_started_at = models.DateTimeField()
    # Our outbound messages with this text seen in the conversation before the attempt (a
    # trustworthy read); null: no trustworthy read, so a lost answer cannot be verified.
    baseline = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-attempt_started_at"]
        indexes = [
            models.Index(
                fields=["account", "action", "state", "attempt_started_at"], name="ledger_counts"
            ),
            models.Index(fields=["platform", "recipient", "state"], name="ledger_recipient"),
        ]

    def __str__(self) -> str:
        target = self.recipient or self.post_url
        return f"{self.action} {self.platform} → {target} ({self.state})"
