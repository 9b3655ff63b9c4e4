"""Admin for tasks, events and pauses; actions call the same services as the API."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from safari_auto.api import ConflictError
from scheduler import services
from scheduler.models import Event, Lane, Pause, SchedulerState, Task

MACHINE_FIELDS = (
    "lane",
    "pending_deps",
    "holds_safari",
    "retry_count",
    "attempt",
    "claimed_by",
    "claimed_at",
    "heartbeat_at",
    "started_at",
    "finished_at",
    "created_at",
    "result",
    "error",
    "wait_reason",
    "cancel_requested",
    "status",
)
DEFINING_FIELDS = (
    "type",
    "platform",
    "account",
    "safari_host",
    "payload",
    "idempotency_key",
    "request_hash",
    "req_safari_exclusive",
    "req_sora_credits",
    "req_platform",
)


def _apply(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet[Task],
    verb: str,
    action: Callable[[Task], object],
) -> None:
    done, refused = 0, []
    for task in queryset:
        try:
            action(task)
            done += 1
        except ConflictError as exc:
            refused.append(str(exc))
    if done:
        modeladmin.message_user(request, f"{verb} {done} task(s).", messages.SUCCESS)
    for reason in refused[:10]:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.action(description="Cancel selected tasks", permissions=["change"])
def cancel_tasks(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Task]
) -> None:
    _apply(
        modeladmin,
        request,
        queryset,
        "Cancelled",
        lambda t: services.task_cancel(task_id=t.pk, reason=f"cancelled by {request.user}"),
    )


@admin.action(description="Retry selected failed or cancelled tasks", permissions=["change"])
def retry_tasks(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Task]
) -> None:
    _apply(modeladmin, request, queryset, "Retried", lambda t: services.task_retry(task_id=t.pk))


@admin.action(description="Blocked: it happened (mark done / sent)", permissions=["change"])
def decide_done(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Task]
) -> None:
    _apply(
        modeladmin,
        request,
        queryset,
        "Marked done",
        lambda t: services.task_decide(task_id=t.pk, decision="done"),
    )


@admin.action(description="Blocked: run it again (send again)", permissions=["change"])
def decide_retry(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Task]
) -> None:
    _apply(
        modeladmin,
        request,
        queryset,
        "Re-queued",
        lambda t: services.task_decide(task_id=t.pk, decision="retry"),
    )


class EventInline(admin.TabularInline):
    model = Event
    fields = ("created_at", "kind", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ("-id",)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "type",
        "name",
        "platform",
        "account",
        "priority",
        "status",
        "scheduled_for",
        "wait_reason",
        "retry_count",
        "safari_host",
    )
    list_filter = ("status", "type", "platform", "safari_host", "priority")
    search_fields = ("=id", "name", "idempotency_key", "account", "error")
    # What a task is and where it runs was checked when it was made (services.task_schedule),
    # and defines its lane: it is read-only here, and tasks are made through the services.
    readonly_fields = (*MACHINE_FIELDS, *DEFINING_FIELDS)
    raw_id_fields = ("dependencies",)
    actions = [cancel_tasks, retry_tasks, decide_done, decide_retry]
    inlines = [EventInline]
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # the API, the dashboard or the CLI: they check type, payload and bounds


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "kind", "subject", "subject_id", "task", "message")
    list_filter = ("kind", "subject")
    search_fields = ("message", "subject_id", "=task__id")
    readonly_fields = (
        "created_at",
        "kind",
        "subject",
        "subject_id",
        "task",
        "message",
        "data",
        "wakes",
    )
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Pause)
class PauseAdmin(admin.ModelAdmin):
    list_display = ("scope", "platform", "account", "kind", "reason", "created_at")
    list_filter = ("scope", "kind", "platform")


@admin.register(SchedulerState)
class SchedulerStateAdmin(admin.ModelAdmin):
    list_display = ("id", "leader", "leader_expires_at", "leader_since", "stopped")
    readonly_fields = ("leader", "leader_expires_at", "leader_since", "updated_at")


admin.site.register(Lane)
admin.site.site_header = "Safari Auto"
admin.site.site_title = "Safari Auto admin"
