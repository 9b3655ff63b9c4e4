"""Admin for credit readings, triggers, trilogies, runs and videos; actions call services."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from sora import importer, services
from sora.models import CreditSnapshot, CreditTrigger, Trilogy, TrilogyPart, TrilogyRun, Video


@admin.register(CreditSnapshot)
class CreditSnapshotAdmin(admin.ModelAdmin):
    list_display = [
        "observed_at",
        "remaining",
        "free",
        "paid",
        "total",
        "refresh_hint",
        "refreshed_at",
        "source",
    ]
    list_filter = ["source", ("refreshed_at", admin.EmptyFieldListFilter)]
    date_hierarchy = "observed_at"
    readonly_fields = [f.name for f in CreditSnapshot._meta.fields]
    actions = ["check_now"]

    @admin.action(description="Queue a credit check now", permissions=["change"])
    def check_now(self, request: HttpRequest, queryset: QuerySet[CreditSnapshot]) -> None:
        task = services.credit_check_ensure(reason="asked from the admin", due_now=True)
        self.message_user(
            request, f"Check queued as #{task.pk}" if task else "A check is already queued"
        )


@admin.register(CreditTrigger)
class CreditTriggerAdmin(admin.ModelAdmin):
    list_display = ["name", "callback", "threshold", "active", "fired_at"]
    list_filter = ["active"]
    search_fields = ["name", "callback"]
    readonly_fields = ["fired_epoch", "fired_at", "created_at"]


class TrilogyPartInline(admin.TabularInline):
    model = TrilogyPart
    extra = 0


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A batch JSON file: {generatedAt, character, trilogies:[…]}")


@admin.register(Trilogy)
class TrilogyAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "theme", "character", "source", "updated_at"]
    search_fields = ["slug", "title", "theme", "character"]
    list_filter = ["source"]
    inlines = [TrilogyPartInline]
    actions = ["queue_selected"]
    change_list_template = "admin/sora/trilogy/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "import/", self.admin_site.admin_view(self.import_view), name="sora_trilogy_import"
            )
        ]
        return extra + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied("Importing trilogies needs the operator role.")
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = importer.batch_import(data=json.loads(upload.read()), source=upload.name)
            except (ValueError, ValidationError) as exc:
                text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                form.add_error("file", text)
            else:
                self.message_user(request, result.message)
                return HttpResponseRedirect(reverse("admin:sora_trilogy_changelist"))
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "form": form,
            "opts": self.model._meta,
            "title": "Import trilogies",
        }
        return TemplateResponse(request, "admin/sora/trilogy/import.html", context)

    @admin.action(
        description="Queue selected trilogies (wait for their credits)", permissions=["change"]
    )
    def queue_selected(self, request: HttpRequest, queryset: QuerySet[Trilogy]) -> None:
        for trilogy in queryset:
            try:
                result = services.trilogy_queue(slug=trilogy.slug)
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            else:
                self.message_user(request, result.message)


class VideoInline(admin.TabularInline):
    model = Video
    extra = 0
    can_delete = False
    fields = ("part", "task", "state", "reserved", "command_id", "video_path", "file_size")
    readonly_fields = fields


@admin.register(TrilogyRun)
class TrilogyRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "trilogy",
        "label",
        "priority",
        "wait_for_credits",
        "admitted_at",
        "created_at",
    ]
    list_filter = [("admitted_at", admin.EmptyFieldListFilter)]
    search_fields = ["trilogy__slug", "label", "idempotency_key"]
    readonly_fields = ["admitted_at", "created_at", "idempotency_key"]
    inlines = [VideoInline]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "part",
        "run",
        "state",
        "reserved",
        "command_id",
        "file_size",
        "file_link",
    ]
    list_filter = ["state", "reserved"]
    search_fields = ["command_id", "part__trilogy__slug", "part__title"]
    readonly_fields = [
        "run",
        "part",
        "task",
        "intent_at",
        "command_id",
        "submitted_at",
        "video_path",
        "file_size",
        "history",
        "finished_at",
        "file_link",
    ]

    @admin.display(description="video")
    def file_link(self, obj: Video) -> str:
        if not obj.video_path:
            return "—"
        url = reverse("sora-video-file", args=[obj.pk])
        return format_html('<a href="{}">view</a> · <a href="{}?download=1">download</a>', url, url)
