"""The dashboard page, its fragments and its controls. Each control parses a form, calls one
scheduler service (the same ones the API calls) and redirects, or answers JSON to fetch."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dashboard import selectors
from safari_auto.api import ConflictError, NotFoundError
from safari_auto.inputs import load_json
from safari_auto.permissions import operator_required, viewer_required
from scheduler import registry, services
from scheduler.timeparse import parse_when

FRAGMENTS = ("header", "resources", "queue", "activity", "inbox")
MAX_PAGE = 100_000


def _page(request: HttpRequest) -> int:
    try:
        return min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        return 1


def _context(request: HttpRequest) -> dict[str, Any]:
    now = timezone.now()
    page = _page(request)
    return {
        "now": now,
        "next_url": "/" if page == 1 else f"/?page={page}",
        "state": selectors.dashboard_state(now=now),
        "queue": selectors.queue_page(page=page, now=now),
        "finished": selectors.recent_finished(),
        "events": [selectors.feed_item(event) for event in selectors.recent_events()],
        "inbox": selectors.inbox(),
        "task_types": sorted(registry.client_task_types()),
        "last_event_id": selectors.latest_event_id(),
    }


@require_GET
@viewer_required
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/index.html", _context(request))


@require_GET
@viewer_required
def fragments(request: HttpRequest) -> JsonResponse:
    """The page's sections as HTML, for the script to patch in after live events."""
    context = _context(request)
    html = {
        name: render_to_string(f"dashboard/_{name}.html", context, request=request)
        for name in FRAGMENTS
    }
    return JsonResponse({"fragments": html, "lastEventId": context["last_event_id"]})


# --- controls -----------------------------------------------------------------------------

Control = Callable[[HttpRequest, dict[str, Any]], str]


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    return str(exc)


def _error_fields(exc: Exception) -> dict[str, list[str]]:
    """Messages by form field, for the form to show beside the field."""
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return {key: list(value) for key, value in exc.message_dict.items()}
    return {}


def control(fn: Control) -> Callable[..., HttpResponse]:
    """Operators only, POST only (CSRF by the middleware); errors become messages, not pages."""

    @wraps(fn)
    @require_POST
    @operator_required
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        code = 200
        fields: dict[str, list[str]] = {}
        try:
            text, ok = fn(request, kwargs), True
        except NotFoundError as exc:
            text, ok, code = str(exc), False, 404
        except ConflictError as exc:
            text, ok, code = str(exc), False, 409
        except (ValidationError, ValueError) as exc:
            text, ok, code = _error_text(exc), False, 400
            fields = _error_fields(exc)
        if _wants_json(request):
            answer: dict[str, Any] = {"ok": ok, "message" if ok else "error": text}
            if code == 400 and fields:
                answer["fields"] = fields
            return JsonResponse(answer, status=code)
        (messages.success if ok else messages.error)(request, text)
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "dashboard:index"
        return redirect(target or "dashboard:index")

    return view


@control
def pause(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    platform = request.POST.get("platform", "").strip()
    reason = request.POST.get("reason", "").strip() or "paused from the dashboard"
    services.scheduler_pause(platform=platform, reason=reason)
    return f"{platform or 'scheduler'} paused"


@control
def resume(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    platform = request.POST.get("platform", "").strip()
    lifted = services.scheduler_resume(platform=platform)
    return f"{platform or 'scheduler'} resumed" if lifted else "nothing was paused"


@control
def cancel(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    task = services.task_cancel(task_id=kwargs["task_id"], reason="cancelled from the dashboard")
    if task.status == "running":
        return f"task #{task.pk} asked to stop"
    return f"task #{task.pk} cancelled"


@control
def retry(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    task = services.task_retry(task_id=kwargs["task_id"])
    return f"task #{task.pk} queued again"


@control
def reschedule(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    when = parse_when(request.POST.get("when", ""), now=timezone.now(), tz=settings.TIME_ZONE)
    task = services.task_reschedule(task_id=kwargs["task_id"], when=when)
    return (
        f"task #{task.pk} rescheduled for {timezone.localtime(task.scheduled_for):%Y-%m-%d %H:%M}"
    )


@control
def decide(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    decision = request.POST.get("decision", "")
    task = services.task_decide(
        task_id=kwargs["task_id"], decision=decision, note=request.POST.get("note", "")
    )
    return f"task #{task.pk}: {decision} ({task.status})"


@control
def schedule(request: HttpRequest, kwargs: dict[str, Any]) -> str:
    data = request.POST
    raw_payload = data.get("payload", "").strip()
    try:
        payload = load_json(raw_payload, "payload") if raw_payload else {}
    except ValueError as exc:  # "payload.note: contains a lone surrogate": name the place
        place, _, why = str(exc).partition(": ")
        raise ValidationError({place or "payload": [why or str(exc)]}) from None
    if not isinstance(payload, dict):
        raise ValidationError({"payload": ['give a JSON object, like {"seconds": 1}']})
    try:
        priority = int(data.get("priority") or 3)
    except ValueError:
        raise ValidationError({"priority": ["a whole number from 1 to 5"]}) from None
    try:
        when = parse_when(data.get("when", ""), now=timezone.now(), tz=settings.TIME_ZONE)
    except ValueError as exc:
        raise ValidationError({"when": [str(exc)]}) from None
    task, created = services.task_schedule(
        client=f"user:{request.user.pk}",
        type=data.get("type", ""),
        name=data.get("name", "").strip(),
        platform=data.get("platform", "").strip(),
        account=data.get("account", "").strip(),
        priority=priority,
        scheduled_for=when,
        payload=payload,
    )
    return f"task #{task.pk} scheduled" if created else f"task #{task.pk} existed already"
