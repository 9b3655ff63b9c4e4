"""The task queue, its events and the scheduler's persisted state."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TaskStatus(models.TextChoices):
    PENDING = "pending"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL_STATUSES = (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED)
QUEUE_STATUSES = (TaskStatus.PENDING, TaskStatus.SCHEDULED, TaskStatus.BLOCKED)
ACTIVE_STATUSES = (TaskStatus.SCHEDULED, TaskStatus.RUNNING)


def _default_max_retries() -> int:
    return int(settings.SCHEDULER["DEFAULT_MAX_RETRIES"])


class Task(models.Model):
    """One unit of work: the PRD's ScheduledTask plus what reliability needs."""

    type = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=200)
    platform = models.CharField(max_length=32, blank=True, default="")
    account = models.CharField(max_length=100, blank=True, default="")
    safari_host = models.CharField(max_length=100, default="local")
    lane = models.CharField(max_length=200, help_text="type|platform|account|host")
    priority = models.PositiveSmallIntegerField(default=3, help_text="1 is highest, 5 lowest")
    scheduled_for = models.DateTimeField(default=timezone.now)

    dependencies = models.ManyToManyField(
        "self", symmetrical=False, related_name="dependents", blank=True
    )
    pending_deps = models.PositiveIntegerField(
        default=0, help_text="Dependencies not yet completed; 0 means ready."
    )

    # Resource requirements (registry defaults, plus whatever the client added).
    req_safari_exclusive = models.BooleanField(default=False)
    req_sora_credits = models.PositiveIntegerField(default=0)
    req_platform = models.CharField(max_length=32, blank=True, default="")
    holds_safari = models.BooleanField(
        default=False, help_text="True while the task holds its host's Safari."
    )

    status = models.CharField(max_length=16, choices=TaskStatus.choices, default=TaskStatus.PENDING)
    retry_count = models.PositiveIntegerField(default=0)
    max_retries = models.PositiveIntegerField(default=_default_max_retries)
    payload = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    wait_reason = models.CharField(max_length=300, blank=True, default="")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    request_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="SHA-256 of the client request that made it: its key with another body is a 409.",
    )

    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Lease: who claimed it, when it last showed life, which attempt it is on.
    claimed_by = models.CharField(max_length=100, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    cancel_requested = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="'cancel' to cancel a running task, 'requeue' to stop it back to pending.",
    )

    class Meta:
        ordering = ["priority", "scheduled_for", "created_at", "id"]
        # Ready tasks are found through two partial indexes: a task leaves them when it is
        # claimed, so starting and finishing it never touches them (every index a status
        # change touches is written under SQLite's one write lock). Queries that use them
        # spell out the condition as literals (see `scheduler.dispatcher.READY`).
        indexes = [
            # Lane heads: the ready tasks of one lane in planning order.
            models.Index(
                fields=["lane", "priority", "scheduled_for", "id"],
                condition=Q(status=TaskStatus.PENDING, pending_deps=0),
                name="task_lane_head",
            ),
            # The next future due time across all lanes.
            models.Index(
                fields=["scheduled_for"],
                condition=Q(status=TaskStatus.PENDING, pending_deps=0),
                name="task_next_due",
            ),
            # Counts by status, the in-flight count, the reaper and the queue listings.
            models.Index(fields=["status", "claimed_at"], name="task_status"),
            # Finished tasks by time (completed lists, clean-up): written once, at the end.
            models.Index(
                fields=["status", "finished_at"],
                condition=Q(finished_at__isnull=False),
                name="task_finished",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(priority__gte=1) & Q(priority__lte=5), name="task_priority_1_to_5"
            ),
            # The Safari rule, enforced by the database: one holder per host.
            models.UniqueConstraint(
                fields=["safari_host"],
                condition=Q(holds_safari=True, status__in=list(ACTIVE_STATUSES)),
                name="one_safari_holder_per_host",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type}: {self.name} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class Lane(models.Model):
    """A (type, platform, account, host) that has had a task: written (if new) with each
    task, never removed, and not a sign of ready work. Each dispatcher cycle asks every lane
    for its ready heads (one indexed `LIMIT` each), so a cycle costs O(lanes ever used), not
    O(pending tasks)."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.key


class Event(models.Model):
    """The activity log, audit trail, signal source and dashboard feed."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(max_length=32, default="task", help_text="task, send, video, …")
    subject_id = models.CharField(max_length=64, blank=True, default="")
    # A log row keeps a plain reference: a database foreign key would check (and share-lock)
    # the task row on every insert, four times per task on the hot path. Deleting a task
    # still clears its events' reference (SET_NULL runs in Django).
    task = models.ForeignKey(
        Task,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
        db_constraint=False,
    )
    message = models.CharField(max_length=500, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    wakes = models.BooleanField(
        default=False, help_text="Can change eligibility: the dispatcher wakes on it."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(wakes=True), name="event_wakes"),
            models.Index(fields=["subject", "subject_id"], name="event_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.subject}:{self.subject_id}"


class SchedulerState(models.Model):
    """One row: the leader lease and the stop flag. Pauses live in Pause."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    leader = models.CharField(max_length=100, blank=True, default="")
    leader_expires_at = models.DateTimeField(null=True, blank=True)
    leader_since = models.DateTimeField(null=True, blank=True)
    stopped = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"scheduler (leader {self.leader or 'none'})"


class WorkerHost(models.Model):
    """One Safari host's worker cluster, as its supervisor (`manage.py workers`) reports it.

    The supervisor writes `seen_at` every HOST_BEAT_SECONDS while its cluster runs; a host is
    online while `seen_at` is younger than HOST_LEASE_SECONDS and it has not signed off. Each
    cluster start bumps `incarnation`, so work started by an earlier cluster is known as such.
    """

    host = models.CharField(max_length=100, primary_key=True)
    machine = models.CharField(max_length=200, blank=True, default="", help_text="hostname")
    pid = models.PositiveIntegerField(default=0, help_text="the supervisor's process id")
    incarnation = models.PositiveIntegerField(default=0)
    workers = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True, help_text="this cluster's start")
    seen_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="set by a clean stop; empty while it runs"
    )

    def __str__(self) -> str:
        return f"host {self.host} ({self.machine}:{self.pid}, incarnation {self.incarnation})"


class PauseScope(models.TextChoices):
    ALL = "all"
    PLATFORM = "platform"
    ACCOUNT = "account"


class PauseKind(models.TextChoices):
    USER = "user", "paused by a user"
    HEALTH = "health", "paused by a failed health probe"


class Pause(models.Model):
    """A persisted pause of the scheduler, a platform or an account."""

    scope = models.CharField(max_length=16, choices=PauseScope.choices)
    platform = models.CharField(max_length=32, blank=True, default="")
    account = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=16, choices=PauseKind.choices, default=PauseKind.USER)
    reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "platform", "account", "kind"], name="one_pause_per_scope"
            )
        ]

    def __str__(self) -> str:
        target = {"all": "scheduler", "platform": self.platform}.get(
            self.scope, f"{self.platform}/{self.account}"
        )
        return f"{target} ({self.kind}): {self.reason}"
