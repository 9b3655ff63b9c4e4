"""Reads shaped for the dashboard: the queue page with projected starts, resources, feeds."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Max, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from dashboard import activity
from safari_auto.times import duration_text, parse_iso
from scheduler import hosts, registry, selectors
from scheduler.dispatcher import HEAD_FIELDS, candidate_from_row, load_pauses
from scheduler.models import QUEUE_STATUSES, Event, Pause, PauseScope, Task, TaskStatus
from scheduler.planning import Projection, ResourceState, project_starts

S = TaskStatus
PER_PAGE = 25
PROJECTION_WINDOW = 100  # ready tasks loaded (by priority, and by time) besides those on screen
DEFAULT_DURATION = timedelta(seconds=30)
INBOX_KINDS = ("dm.reply_received",)
DEFAULT_DECISIONS = (("done", "Mark sent"), ("retry", "Send again"))
DECISION_LABELS = {
    "sent": "Mark sent",
    "resend": "Send again",
    "done": "Mark done",
    "retry": "Run again",
    "generated": "Mark generated",
    "resubmit": "Submit again",
}


@dataclass
class QueueRow:
    task: Task
    state: str
    detail: str
    expected: datetime | None = None
    expected_note: str = ""
    decisions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def css(self) -> str:
        return self.state.lower().replace(" ", "-")


@dataclass
class QueuePage:
    rows: list[QueueRow]
    page: int
    pages: int
    total: int
    counts: dict[str, int]

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _sections(now: datetime) -> list[tuple[str, Q, tuple[str, ...]]]:
    """The queue in the dashboard's order: RUNNING, STARTING, NEEDS YOU, WAITING, SCHEDULED."""
    planning_order = ("priority", "scheduled_for", "created_at", "id")
    return [
        ("RUNNING", Q(status=S.RUNNING), ("started_at", "id")),
        ("STARTING", Q(status=S.SCHEDULED), ("claimed_at", "id")),
        ("NEEDS YOU", Q(status=S.BLOCKED), planning_order),
        ("WAITING", Q(status=S.PENDING, scheduled_for__lte=now), planning_order),
        (
            "SCHEDULED",
            Q(status=S.PENDING, scheduled_for__gt=now),
            ("scheduled_for", "priority", "id"),
        ),
    ]


def queue_page(
    *, page: int = 1, per_page: int = PER_PAGE, now: datetime | None = None
) -> QueuePage:
    """One page of the running and queued tasks, each with its expected start.

    Costs a count per section plus one slice: never the whole queue.
    """
    now = now or timezone.now()
    sections = _sections(now)
    counted = Task.objects.filter(status__in=[*QUEUE_STATUSES, S.RUNNING]).aggregate(
        **{f"n{i}": Count("id", filter=where) for i, (_, where, _) in enumerate(sections)}
    )
    counts = {name: int(counted[f"n{i}"]) for i, (name, _, _) in enumerate(sections)}
    total = sum(counts.values())
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    skip, want = (page - 1) * per_page, per_page
    tasks: list[Task] = []
    for name, where, order in sections:
        if want <= 0:
            break
        if skip >= counts[name]:
            skip -= counts[name]
            continue
        chunk = list(Task.objects.filter(where).order_by(*order)[skip : skip + want])
        tasks.extend(chunk)
        want -= len(chunk)
        skip = 0
    projections = project_queue(tasks, now=now)
    rows = [_row(task, projections.get(task.pk), now) for task in tasks]
    return QueuePage(rows=rows, page=page, pages=pages, total=total, counts=counts)


def _row(task: Task, projection: Projection | None, now: datetime) -> QueueRow:
    state, detail = selectors.display_state(task, now=now)
    row = QueueRow(task=task, state=state, detail=detail)
    if task.status == S.RUNNING:
        row.expected, row.expected_note = task.started_at, "started"
    elif task.status == S.SCHEDULED:
        row.expected, row.expected_note = now, "now"
    elif task.status == S.BLOCKED:
        row.expected_note = "when you decide"
        row.decisions = decisions_for(task.type)
    elif task.pending_deps:
        row.expected_note = f"after {task.pending_deps} unfinished dependenc" + (
            "y" if task.pending_deps == 1 else "ies"
        )
    elif projection is not None:
        row.expected, row.expected_note = projection.start, projection.reason
    return row


def decisions_for(type_name: str) -> list[tuple[str, str]]:
    """The buttons for a blocked task: the type's own words, or mark sent / send again."""
    spec = registry.task_type(type_name)
    words: Mapping[str, str] = (spec.extra.get("decisions") or {}) if spec else {}
    if not words:
        return list(DEFAULT_DECISIONS)
    return [
        (word, DECISION_LABELS.get(word, word.replace("_", " ").capitalize())) for word in words
    ]


# --- projection ---------------------------------------------------------------------------


def project_queue(on_screen: list[Task], *, now: datetime) -> dict[int, Projection]:
    """Expected starts for the pending tasks on screen, from the planning core's projection.

    The tasks ahead of them matter, so it loads a bounded window of ready pending tasks (by
    priority and by time) besides the ones on screen: an estimate, not a promise.
    """
    wanted = {t.pk for t in on_screen if t.status == S.PENDING and not t.pending_deps}
    if not wanted:
        return {}
    ready = Task.objects.filter(status=S.PENDING, pending_deps=0)
    rows: dict[int, dict[str, Any]] = {}
    for query in (
        ready.order_by("priority", "scheduled_for", "id"),
        ready.order_by("scheduled_for", "priority", "id"),
    ):
        for row in query.values(*HEAD_FIELDS)[: PROJECTION_WINDOW + len(on_screen)]:
            rows[row["id"]] = row
    missing = wanted - rows.keys()
    if missing:
        for row in Task.objects.filter(pk__in=missing).values(*HEAD_FIELDS):
            rows[row["id"]] = row
    candidates = [candidate_from_row(row) for row in rows.values()]
    durations = lane_durations()
    keys = {key for cand in candidates for key in cand.needs}
    resources = ResourceState(
        busy_hosts=frozenset(),
        gates=registry.read_gates(keys, now) if keys else {},
        pauses=load_pauses(),
        hosts=tuple(settings.SAFARI_HOSTS),
        offline_hosts=hosts.held(hosts.liveness(now)),
    )
    projected = project_starts(
        now,
        candidates,
        resources,
        durations=durations,
        default_duration=DEFAULT_DURATION,
        busy_until=_busy_until(now, durations),
    )
    return {task_id: projected[task_id] for task_id in wanted if task_id in projected}


def lane_durations(*, sample: int = 200) -> dict[str, timedelta]:
    """How long a task of each lane usually runs: the mean of its recent completions."""
    recent = (
        Task.objects.filter(status=S.COMPLETED, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("lane", "started_at", "finished_at")[:sample]
    )
    spans: dict[str, list[timedelta]] = defaultdict(list)
    for lane, started, finished in recent:
        if started and finished and finished >= started:
            spans[lane].append(finished - started)
    return {lane: sum(values, timedelta()) / len(values) for lane, values in spans.items()}


def _busy_until(now: datetime, durations: Mapping[str, timedelta]) -> dict[str, datetime]:
    """When each Safari host's current holder should be done."""
    busy: dict[str, datetime] = {}
    holders = Task.objects.filter(
        status__in=[S.SCHEDULED, S.RUNNING], holds_safari=True
    ).values_list("safari_host", "lane", "started_at")
    for host, lane, started in holders:
        done = (started or now) + durations.get(lane, DEFAULT_DURATION)
        busy[host] = max(done, now, busy.get(host, now))
    return busy


# --- header, resources, feeds -------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Datetimes and decimals as JSON strings, the way the API shows them."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def dashboard_state(*, now: datetime | None = None) -> dict[str, Any]:
    """The scheduler's state for the header, and the resources the other apps registered."""
    now = now or timezone.now()
    state = selectors.scheduler_state(now=now)
    if state["isStopped"]:
        word = "stopped"
    elif state["isPaused"]:
        word = "paused"
    elif state["isRunning"]:
        word = "running"
    else:
        word = "no dispatcher"
    state["word"] = word
    state["platformRows"] = platform_rows(state.get("platforms") or [], now=now)
    state["sora"] = sora_view(state.get("soraCredits"), now=now)
    state["hostsHeld"] = any(item["reason"] for item in state["safariHosts"])
    return state


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return parse_iso(value)


def platform_rows(platforms: list[dict[str, Any]], *, now: datetime) -> list[dict[str, Any]]:
    """Each platform account as ready, rate-limited (resumes in …), logged out or paused."""
    paused = {
        p.platform: p.reason
        for p in Pause.objects.filter(scope=PauseScope.PLATFORM).order_by("kind")
    }
    rows = []
    seen = set()
    for item in platforms:
        name = str(item.get("platform") or "?")
        seen.add(name)
        raw_limits = item.get("limits")
        limits: dict[str, Any] = raw_limits if isinstance(raw_limits, dict) else {}
        cooldown = _when(item.get("cooldownUntil"))
        next_allowed = _when(item.get("nextAllowedAt"))
        resumes: datetime | None = None
        next_send: datetime | None = None
        if name in paused or item.get("paused"):
            status, detail = "paused", paused.get(name) or str(item.get("paused"))
        elif item.get("isLoggedIn") is False:
            status, detail = "logged out", "log in to the platform in Safari"
        elif item.get("healthPause"):
            status, detail = "unhealthy", str(item["healthPause"])
        elif cooldown is not None and cooldown > now:
            status, detail, resumes = "rate-limited", "cooling down", cooldown
        elif item.get("betweenSends") and next_allowed is not None:
            status, detail, next_send = "ready", "", next_allowed
        elif item.get("isReady") is False and next_allowed is not None and next_allowed > now:
            status, detail = "rate-limited", str(item.get("waitReason") or "")
            resumes = next_allowed
        elif item.get("checked") is False and item.get("isReady") is False:
            status, detail = "not checked yet", "waiting for the first probe"
        elif item.get("isReady") is False:
            status, detail = "waiting", str(item.get("waitReason") or "")
        else:
            status, detail = "ready", ""
        holds = item.get("actionHolds")
        if isinstance(holds, dict) and holds:  # e.g. its comment service is down
            detail = "; ".join(filter(None, [detail, *(f"held: {h}" for h in holds.values())]))
        rows.append(
            {
                "platform": name,
                "account": item.get("account") or "",
                "status": status,
                "detail": detail,
                "resumesAt": resumes,
                "nextSendAt": next_send,
                "today": item.get("messagesToday"),
                "cap": limits.get("daily") or item.get("dailyCap"),
                "hour": item.get("messagesThisHour"),
                "paused": name in paused,
            }
        )
    for name, reason in paused.items():
        if name not in seen:
            rows.append({"platform": name, "status": "paused", "detail": reason, "paused": True})
    return rows


def sora_view(credits: Any, *, now: datetime) -> dict[str, Any] | None:
    if not isinstance(credits, dict):
        return None
    nested = credits.get("credits")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else credits
    refresh = _when(inner.get("estimatedRefreshTime"))
    return {
        "free": inner.get("freeCredits"),
        "paid": inner.get("paidCredits"),
        "total": inner.get("totalCredits"),
        "available": inner.get("availableCredits"),
        "lastChecked": _when(inner.get("lastChecked")),
        "refreshAt": refresh,
        "refreshIn": duration_text(refresh - now) if refresh else None,
        "videos": [v for v in credits.get("videos") or [] if isinstance(v, dict)],
    }


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "text": event_text(event),
        "subject": event.subject,
        "subjectId": event.subject_id,
        "taskId": event.task_id,
        "message": event.message,
        "data": jsonable(event.data),
        "createdAt": event.created_at.isoformat(),
        "ts": int(event.created_at.timestamp() * 1000),
    }


def recent_finished(*, limit: int = 8) -> list[Task]:
    """The last tasks to finish (completed, failed or cancelled), for a glance and a retry."""
    rows: list[Task] = []
    for status in (S.COMPLETED, S.FAILED, S.CANCELLED):  # one indexed query each
        done = Task.objects.filter(status=status, finished_at__isnull=False)
        rows += done.order_by("-finished_at", "-id")[:limit]
    rows.sort(key=lambda t: (t.finished_at or t.created_at, t.pk), reverse=True)
    return rows[:limit]


def feed_item(event: Event) -> dict[str, Any]:
    """An event for the page's feed: its JSON shape plus the aware time for the template."""
    return {**event_json(event), "at": event.created_at}


def event_text(event: Event) -> str:
    """The feed's sentence for the event (see `dashboard.activity`), "" for bookkeeping."""
    task = event.task if event.task_id and event.kind in TASK_SENTENCES else None
    facts = (
        {"name": task.name, "type": task.type, "platform": task.platform, "result": task.result}
        if task is not None
        else None
    )
    return activity.describe(event.kind, message=event.message, data=event.data, task=facts)


# Task events whose sentence needs the task's name or result (one join, only for these).
TASK_SENTENCES = {"task.completed", "task.failed", "task.blocked", "task.created", "task.cancelled"}


def recent_events(*, limit: int = 30) -> list[Event]:
    return list(Event.objects.select_related("task").order_by("-id")[:limit])


def events_since(*, since: int, limit: int) -> QuerySet[Event]:
    return Event.objects.select_related("task").filter(id__gt=since).order_by("id")[:limit]


def latest_event_id() -> int:
    return int(Event.objects.aggregate(top=Max("id"))["top"] or 0)


def inbox(*, limit: int = 10) -> list[dict[str, Any]]:
    """New replies from contacts: the inbound-message events, newest first.

    `crm.client` has no inbox read yet, so this reads the event feed that the DM sync writes.
    """
    rows = Event.objects.filter(Q(kind__in=INBOX_KINDS) | Q(subject="message")).order_by("-id")
    return [_inbox_item(event) for event in rows[:limit]]


def _inbox_item(event: Event) -> dict[str, Any]:
    data = event.data or {}
    contact = data.get("contactId") or data.get("contact_id")
    link = ""
    if contact:
        try:
            link = reverse("admin:crm_contact_change", args=[contact])
        except NoReverseMatch:
            link = ""
    return {
        "id": event.pk,
        "at": event.created_at,
        "platform": data.get("platform", ""),
        "who": data.get("username") or data.get("from") or event.subject_id,
        "text": data.get("text") or event.message,
        "link": link,
    }
