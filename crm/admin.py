"""The CRM in the admin: contacts with handles, conversations and messages; campaigns with
previews; API keys. Actions call services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from crm import selectors, services
from crm.models import (
    ApiKey,
    Campaign,
    Contact,
    Conversation,
    Interaction,
    Message,
    Platform,
    PlatformAccount,
    SyncRun,
    Tag,
)
from crm.text import template_render, template_text, template_variables


class PlatformFilter(admin.SimpleListFilter):
    title = "platform"
    parameter_name = "platform"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Platform.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(handles__platform=self.value()).distinct()
        return queryset


class ScoreFilter(admin.SimpleListFilter):
    title = "relationship score"
    parameter_name = "score"
    BANDS = {"0-29": (0, 29), "30-59": (30, 59), "60-79": (60, 79), "80-100": (80, 100)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(band, band) for band in self.BANDS]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        band = self.BANDS.get(self.value() or "")
        if band:
            return queryset.filter(relationship_score__range=band)
        return queryset


class PlatformAccountInline(admin.TabularInline):
    model = PlatformAccount
    extra = 0
    fields = (
        "platform",
        "username",
        "display_name",
        "platform_user_id",
        "is_verified",
        "is_primary",
        "display_only",
    )
    readonly_fields = ("display_only",)


class ConversationInline(admin.TabularInline):
    model = Conversation
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("platform", "handle", "message_count", "last_message_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class InteractionInline(admin.TabularInline):
    model = Interaction
    extra = 0
    fields = ("type", "platform", "summary", "sentiment", "value_delivered", "occurred_at")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = (
        "display_name",
        "handles_list",
        "pipeline_stage",
        "relationship_score",
        "do_not_contact",
        "last_message_at",
    )
    list_filter = ("pipeline_stage", PlatformFilter, ScoreFilter, "do_not_contact")
    search_fields = ("display_name", "email", "handles__username", "tags__name")
    filter_horizontal = ("tags",)
    inlines = (PlatformAccountInline, ConversationInline, InteractionInline)
    readonly_fields = (
        "relationship_score",
        "total_messages_sent",
        "total_messages_received",
        "total_interactions",
        "value_delivered_count",
        "resonance_average",
        "first_touch_at",
        "last_message_at",
        "last_inbound_at",
        "last_outbound_at",
        "last_interaction_at",
        "created_at",
        "updated_at",
        "recent_messages",
    )
    actions = ("merge_contacts", "mark_do_not_contact", "clear_do_not_contact", "rescore")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return super().get_queryset(request).prefetch_related("handles")

    @admin.display(description="handles")
    def handles_list(self, contact: Contact) -> str:
        return ", ".join(f"{h.platform}:@{h.username}" for h in contact.handles.all())

    @admin.display(description="recent messages")
    def recent_messages(self, contact: Contact) -> str:
        rows = Message.objects.filter(conversation__contact=contact).order_by("-sent_at")[:20]
        if not rows:
            return "—"
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((m.sent_at.strftime("%Y-%m-%d %H:%M"), m.direction, m.text[:200]) for m in rows),
            ),
        )

    def save_model(self, request: HttpRequest, obj: Contact, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.contacts_rescore(contact_ids=[obj.pk])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.contact_search_refresh(contact=form.instance)

    @admin.action(description="Merge selected contacts into the oldest one", permissions=["change"])
    def merge_contacts(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        contacts = list(queryset.order_by("created_at", "id"))
        if len(contacts) < 2:
            self.message_user(request, "Select at least two contacts to merge.", messages.WARNING)
            return
        primary = services.contact_merge(primary=contacts[0], duplicates=contacts[1:])
        self.message_user(request, f"Merged {len(contacts) - 1} contact(s) into {primary}.")

    @admin.action(description="Mark do-not-contact", permissions=["change"])
    def mark_do_not_contact(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        self.message_user(request, f"{queryset.update(do_not_contact=True)} marked do-not-contact.")

    @admin.action(description="Clear do-not-contact", permissions=["change"])
    def clear_do_not_contact(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        self.message_user(request, f"{queryset.update(do_not_contact=False)} cleared.")

    @admin.action(description="Recompute counters and score", permissions=["change"])
    def rescore(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        services.contacts_rescore(contact_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, "Scores recomputed.")


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("sent_at", "direction", "text", "by_automation", "service_id", "origin")
    readonly_fields = fields
    ordering = ("sent_at",)
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("id", "contact", "platform", "handle", "message_count", "last_message_at")
    list_filter = ("platform",)
    search_fields = ("handle__username", "contact__display_name")
    readonly_fields = (
        "contact",
        "handle",
        "platform",
        "message_count",
        "last_message_at",
        "last_inbound_at",
        "last_outbound_at",
        "created_at",
        "updated_at",
    )
    inlines = (MessageInline,)


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    list_display = ("username", "platform", "contact", "is_primary", "is_verified", "display_only")
    list_filter = ("platform", "is_verified", "display_only")
    search_fields = ("username", "display_name", "contact__display_name")
    raw_id_fields = ("contact",)


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ("type", "contact", "platform", "sentiment", "value_delivered", "occurred_at")
    list_filter = ("type", "sentiment", "value_delivered", "platform")
    search_fields = ("contact__display_name", "summary")
    raw_id_fields = ("contact",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "type", "status", "platforms", "sent_count", "replied_count")
    list_filter = ("status", "type")
    search_fields = ("name", "description")
    raw_id_fields = ("preview_contact",)
    readonly_fields = ("sent_count", "replied_count", "template_preview", "created_at")

    @admin.display(description="templates previewed")
    def template_preview(self, campaign: Campaign) -> str:
        contact = campaign.preview_contact
        platform = (campaign.platforms or [""])[0]
        if contact is None and platform:
            targets = selectors.campaign_targets(campaign=campaign, platform=platform, limit=1)
            contact = targets[0][0] if targets else None
        if contact is None:
            return "Pick a preview contact (or add targets) to see the templates filled in."
        handle = contact.handles.order_by("-is_primary", "id").first()
        variables = template_variables(
            display_name=contact.display_name,
            username=handle.username if handle else "",
            platform=handle.platform if handle else platform,
        )
        rendered = [
            template_render(template_text(t), variables) for t in campaign.message_templates
        ]
        return format_html(
            "<p>For {}:</p><ol>{}</ol>",
            contact.display_name,
            format_html_join("", "<li>{}</li>", ((text,) for text in rendered)),
        )


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "platform",
        "conversations_received",
        "messages_received",
        "contacts_created",
        "messages_synced",
    )
    list_filter = ("platform",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    fields = ("name", "is_active", "prefix", "created_at", "last_used_at")
    actions = ("revoke",)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = services.apikey_create(name=obj.name)
        obj.pk, obj.prefix, obj.key_hash = key.pk, key.prefix, key.key_hash
        self.message_user(
            request,
            format_html("Copy this key now, it is not shown again: <code>{}</code>", raw),
            messages.WARNING,
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset:
            services.apikey_revoke(key=key)
        self.message_user(request, "Keys revoked.")
