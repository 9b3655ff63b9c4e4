"""Admin for accounts, limits and the send ledger (blocked sends are decided on the Task admin)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dm import services
from dm.models import AccountLimit, PlatformAccount, SendLedger


class AccountLimitInline(admin.TabularInline):
    model = AccountLimit
    extra = 0
    readonly_fields = ("next_allowed_at", "cooldown_level", "last_probe_at", "health_reason")
    fields = (
        "action",
        "hourly_cap",
        "daily_cap",
        "min_gap_seconds",
        "max_gap_seconds",
        "cooldown_until",
        "cooldown_level",
        "next_allowed_at",
        "logged_in",
        "healthy",
        "health_reason",
        "last_probe_at",
    )


@admin.action(description="Queue a health probe now", permissions=["change"])
def probe_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    for account in queryset:
        services.probe_schedule(account=account)
    messages.success(request, f"{queryset.count()} probe(s) queued")


@admin.register(PlatformAccount)
class PlatformAccountAdmin(admin.ModelAdmin):
    list_display = (
        "platform",
        "handle",
        "safari_host",
        "is_default",
        "timezone",
        "active_start",
        "active_end",
        "automation_enabled",
    )
    list_filter = ("platform", "safari_host", "automation_enabled")
    search_fields = ("handle",)
    inlines = [AccountLimitInline]
    actions = [probe_now]


@admin.register(SendLedger)
class SendLedgerAdmin(admin.ModelAdmin):
    list_display = (
        "idempotency_key",
        "platform",
        "action",
        "recipient",
        "state",
        "verified",
        "attempts",
        "attempt_started_at",
        "finished_at",
    )
    list_filter = ("platform", "action", "state", "verified")
    search_fields = ("idempotency_key", "recipient", "post_url", "text")
    date_hierarchy = "attempt_started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
