"""Credit readings, credit triggers, trilogies and the videos we make of them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class CreditSnapshot(models.Model):
    """One reading of the Sora service's usage. `None` means unknown, never 0."""

    observed_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=32, default="usage", help_text="usage, manual, …")
    free = models.IntegerField(null=True, blank=True)
    paid = models.IntegerField(null=True, blank=True)
    total = models.IntegerField(null=True, blank=True, help_text="free + paid, or remaining")
    remaining = models.IntegerField(null=True, blank=True, help_text="empty: unknown (-1)")
    videos_generated_today = models.IntegerField(null=True, blank=True)
    daily_limit = models.IntegerField(null=True, blank=True)
    plan = models.CharField(max_length=64, blank=True, default="")
    refresh_hint = models.DateTimeField(
        null=True, blank=True, help_text="The service's 'More available on' time, if given."
    )
    # A refresh (a jump upward) seen between the previous known reading and this one.
    refresh_after = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="refreshed_by",
        help_text="The reading this one saw a refresh after (unique: one refresh each).",
    )
    refreshed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-observed_at", "-id"]
        get_latest_by = ["observed_at", "id"]

    def __str__(self) -> str:
        left = "unknown" if self.remaining is None else self.remaining
        return f"{self.observed_at:%Y-%m-%d %H:%M} · {left} remaining"

    @property
    def is_known(self) -> bool:
        return self.remaining is not None

    @property
    def is_refresh(self) -> bool:
        return self.refreshed_at is not None


class CreditTrigger(models.Model):
    """onCreditsAvailable(threshold, callback): a dotted path called once per refresh."""

    name = models.CharField(max_length=100, unique=True)
    callback = models.CharField(max_length=200, help_text="dotted.path.to.function(snapshot)")
    threshold = models.PositiveIntegerField(default=1)
    active = models.BooleanField(default=True)
    # The refresh epoch it last fired in: the id of the refresh snapshot (0: before any).
    fired_epoch = models.BigIntegerField(null=True, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name}: {self.callback} when ≥ {self.threshold} credits"


class Trilogy(models.Model):
    """Three ordered parts under one story, as in the batch files. A single video (the PRD's
    `{"type": "sora", "payload": {"prompt": …}}`) is kept as a one-part story of kind
    `single`, so it shares the credit gate, the submit-once intent and the resume of a part."""

    class Kind(models.TextChoices):
        TRILOGY = "trilogy"
        SINGLE = "single", "single video"

    slug = models.SlugField(max_length=100, unique=True, help_text="The batch file's id.")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRILOGY)
    title = models.CharField(max_length=200)
    theme = models.CharField(max_length=200, blank=True, default="")
    character = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=200, blank=True, default="", help_text="Batch file")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "trilogies"

    def __str__(self) -> str:
        return f"{self.slug}: {self.title}"


class TrilogyPart(models.Model):
    trilogy = models.ForeignKey(Trilogy, on_delete=models.CASCADE, related_name="parts")
    part = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    stage = models.CharField(max_length=100, blank=True, default="")
    prompt = models.TextField()

    class Meta:
        ordering = ["trilogy", "part"]
        constraints = [
            models.UniqueConstraint(fields=["trilogy", "part"], name="one_part_number_each"),
            models.CheckConstraint(condition=Q(part__gte=1), name="part_number_from_1"),
        ]

    def __str__(self) -> str:
        return f"{self.trilogy.slug} #{self.part}: {self.title}"


class TrilogyRun(models.Model):
    """One queueing of a trilogy: its parts' videos, admitted (credits reserved) all at once."""

    trilogy = models.ForeignKey(Trilogy, on_delete=models.PROTECT, related_name="runs")
    label = models.CharField(max_length=200, blank=True, default="")
    wait_for_credits = models.PositiveIntegerField(default=3)
    priority = models.PositiveSmallIntegerField(default=2)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    admitted_at = models.DateTimeField(
        null=True, blank=True, help_text="When its credits were reserved, all at once."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run #{self.pk} of {self.trilogy.slug}"


class VideoState(models.TextChoices):
    QUEUED = "queued"
    SUBMITTING = "submitting", "submitting (intent stored)"
    GENERATING = "generating"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Video(models.Model):
    """One part of a run: one generation, one credit, one task."""

    run = models.ForeignKey(TrilogyRun, on_delete=models.CASCADE, related_name="videos")
    part = models.ForeignKey(TrilogyPart, on_delete=models.PROTECT, related_name="videos")
    task = models.OneToOneField(
        "scheduler.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="video"
    )
    state = models.CharField(max_length=16, choices=VideoState.choices, default=VideoState.QUEUED)
    reserved = models.BooleanField(default=False, help_text="Its credit is reserved.")
    intent_at = models.DateTimeField(null=True, blank=True, help_text="Intent to submit stored")
    command_id = models.CharField(max_length=100, blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True, help_text="The 202 came back")
    video_path = models.CharField(max_length=500, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    history = models.JSONField(default=list, blank=True, help_text="Earlier failed commands")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "part__part"]
        constraints = [
            models.UniqueConstraint(fields=["run", "part"], name="one_video_per_part_per_run")
        ]
        indexes = [models.Index(fields=["reserved", "submitted_at"], name="video_reservation")]

    def __str__(self) -> str:
        return f"{self.part} ({self.state})"
