"""The CRM: contacts, their platform handles, conversations, messages, tags, interactions,
campaigns and API keys.

Models hold fields, constraints and cheap properties only; writes live in `crm.services`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.text import name_letters


class Platform(models.TextChoices):
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    TWITTER = "twitter"
    THREADS = "threads"
    LINKEDIN = "linkedin"
    YOUTUBE = "youtube"
    FACEBOOK = "facebook"
    EMAIL = "email"
    OTHER = "other"


class Stage(models.TextChoices):
    FIRST_TOUCH = "first_touch"
    CONTEXT_CAPTURED = "context_captured"
    MICRO_WIN_DELIVERED = "micro_win_delivered"
    CADENCE_ESTABLISHED = "cadence_established"
    TRUST_SIGNALS = "trust_signals"
    FIT_REPEATS = "fit_repeats"
    PERMISSIONED_OFFER = "permissioned_offer"
    POST_WIN_EXPANSION = "post_win_expansion"


class Direction(models.TextChoices):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True, help_text="Lower-case.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person, platform-neutral. Handles, conversations and interactions hang off it."""

    display_name = models.CharField(max_length=200)
    email = models.CharField(max_length=254, blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    bio = models.TextField(blank=True, default="")
    notes = models.TextField(blank=True, default="")
    tags = models.ManyToManyField(Tag, related_name="contacts", blank=True)

    pipeline_stage = models.CharField(
        max_length=32, choices=Stage.choices, default=Stage.FIRST_TOUCH, db_index=True
    )
    preferred_cadence = models.CharField(max_length=32, blank=True, default="weekly")
    relationship_score = models.PositiveSmallIntegerField(default=0, db_index=True)
    do_not_contact = models.BooleanField(default=False, db_index=True)

    # The score's inputs that people provide.
    what_theyre_building = models.TextField(blank=True, default="")
    current_friction = models.TextField(blank=True, default="")
    definition_of_win = models.TextField(blank=True, default="")
    fit_signals = models.JSONField(default=list, blank=True)
    promises_made = models.PositiveIntegerField(default=0)
    promises_kept = models.PositiveIntegerField(default=0)
    asks_opinion = models.BooleanField(default=False)
    shares_updates = models.BooleanField(default=False)
    has_referred_others = models.BooleanField(default=False)

    # Counters and times, kept by the services (machine fields).
    total_messages_sent = models.PositiveIntegerField(default=0)
    total_messages_received = models.PositiveIntegerField(default=0)
    total_interactions = models.PositiveIntegerField(default=0)
    value_delivered_count = models.PositiveIntegerField(default=0)
    resonance_average = models.FloatField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    last_interaction_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(relationship_score__lte=100), name="crm_contact_score_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class SearchToken(models.Model):
    """One word of a contact's name, handles, email or tags, for word-prefix search."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="search_tokens")
    token = models.CharField(max_length=64)

    class Meta:
        indexes = [
            models.Index(fields=["token", "contact"], name="crm_search_token"),
            models.Index(fields=["contact", "token"], name="crm_search_contact"),
        ]

    def __str__(self) -> str:
        return self.token


class PlatformAccount(models.Model):
    """A contact's handle on one platform; unique per platform and username, ignoring case."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="handles")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    username = models.CharField(max_length=150)
    username_key = models.CharField(
        max_length=150, editable=False, help_text="Lower-case username without '@'."
    )
    display_name = models.CharField(max_length=200, blank=True, default="")
    platform_user_id = models.CharField(max_length=100, blank=True, default="")
    profile_url = models.URLField(max_length=500, blank=True, default="")
    follower_count = models.PositiveIntegerField(null=True, blank=True)
    is_verified = models.BooleanField(default=False)
    is_primary = models.BooleanField(default=False)
    display_only = models.BooleanField(
        default=False,
        help_text="`username` is only the name an inbox showed (no handle matched it yet): "
        "never messaged, never a campaign target; its key is `~` + the name's letters.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "username_key"], name="crm_handle_unique_per_platform"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.username} ({self.platform}, name only)"
            if self.display_only
            else (f"@{self.username} ({self.platform})")
        )

    def save(self, *args: object, **kwargs: object) -> None:
        self.username_key = (
            shown_key(self.username) if self.display_only else handle_key(self.username)
        )
        super().save(*args, **kwargs)  # type: ignore[arg-type]


def handle_key(username: str) -> str:
    """The case-insensitive identity of a username: trimmed, without '@', lower-case."""
    return username.strip().lstrip("@").lower()


def shown_key(name: str) -> str:
    """The key of a name-only handle: `~` and the name's letters and digits, case-folded, so
    "Maya Builds", "maya_builds" and "MayaBuilds" share `~mayabuilds` (and no handle, which
    never starts with `~`, can collide with it)."""
    return "~" + name_letters(name)


class Conversation(models.Model):
    """The DM thread with one handle."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    handle = models.OneToOneField(
        PlatformAccount, on_delete=models.CASCADE, related_name="conversation"
    )
    platform = models.CharField(max_length=16, choices=Platform.choices, db_index=True)
    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_outbound_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.platform} conversation {self.pk}"


class Message(models.Model):
    """One DM. De-duplicated by service id, else by (direction, normalised text, minute)."""

    class Origin(models.TextChoices):
        SYNC = "sync"
        LOG = "log"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    text = models.TextField()
    text_key = models.CharField(max_length=40, editable=False, help_text="Normalised-text hash.")
    sent_at = models.DateTimeField()
    by_automation = models.BooleanField(default=False)
    service_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (unique when set)
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.SYNC)
    resonance = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "sent_at"], name="crm_msg_conv_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "service_id"],
                condition=Q(service_id__isnull=False),
                name="crm_msg_unique_service_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction}: {self.text[:40]}"

    @property
    def is_outbound(self) -> bool:
        return self.direction == Direction.OUTBOUND


class Interaction(models.Model):
    class Sentiment(models.TextChoices):
        POSITIVE = "positive"
        NEGATIVE = "negative"
        NEUTRAL = "neutral"
        CURIOUS = "curious"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="interactions")
    type = models.CharField(max_length=50)
    platform = models.CharField(max_length=16, choices=Platform.choices, blank=True, default="")
    summary = models.TextField(blank=True, default="")
    outcome = models.TextField(blank=True, default="")
    sentiment = models.CharField(max_length=10, choices=Sentiment.choices, blank=True, default="")
    value_delivered = models.BooleanField(default=False)
    metadata = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["contact", "-occurred_at"], name="crm_inter_contact_time")]

    def __str__(self) -> str:
        return f"{self.type} with {self.contact_id}"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        COMPLETED = "completed"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    type = models.CharField(max_length=32, default="outreach")
    platforms = models.JSONField(default=list, blank=True)
    message_templates = models.JSONField(
        default=list,
        blank=True,
        help_text="Texts with {first_name}, {display_name}, {username}, {platform}.",
    )
    target_criteria = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"stage": ..., "stages": [...], "tags": [...], "platform": ..., '
        '"min_score": 0, "max_score": 100}',
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    sent_count = models.PositiveIntegerField(default=0)
    replied_count = models.PositiveIntegerField(default=0)
    preview_contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The admin previews the templates against this contact.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class CampaignRecipient(models.Model):
    """A contact a campaign has messaged; it is never targeted again by that campaign."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="campaigns_sent")
    sent_at = models.DateTimeField(default=timezone.now)
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="crm_recipient_once"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.contact_id}"


class SyncRun(models.Model):
    """One POST /api/sync/dm: what came in and what changed."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    conversations_received = models.PositiveIntegerField(default=0)
    messages_received = models.PositiveIntegerField(default=0)
    contacts_created = models.PositiveIntegerField(default=0)
    contacts_updated = models.PositiveIntegerField(default=0)
    conversations_synced = models.PositiveIntegerField(default=0)
    messages_synced = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.platform} sync at {self.started_at:%Y-%m-%d %H:%M}"


class ApiKey(models.Model):
    """A key for the CRM API's `x-api-key` header. Only its SHA-256 is stored."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False, help_text="First characters.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
