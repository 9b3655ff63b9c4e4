"""What `manage.py scheduler` prints: rich tables for people, the API's JSON for scripts.

Each function takes rows the selectors already read and returns text; the command writes it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from rich.console import Console, RenderableType
from rich.table import Table

from safari_auto.times import duration_text
from scheduler.api.serializers import TaskSerializer
from scheduler.models import Event, Task
from scheduler.selectors import display_state

WIDTH = 140


def render(*items: RenderableType) -> str:
    """Rich renderables as plain text (no colour codes), for `self.stdout`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=WIDTH, force_terminal=False, color_system=None)
    for item in items:
        console.print(item)
    return buffer.getvalue()


def as_json(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False) + "\n"


def local(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def tasks_json(tasks: Iterable[Task]) -> list[dict[str, Any]]:
    return [dict(row) for row in TaskSerializer(list(tasks), many=True).data]


def task_table(tasks: Sequence[Task], *, title: str, finished: bool = False) -> Table:
    table = Table(title=title, title_justify="left", min_width=40, expand=False)
    table.add_column("ID", justify="right")
    table.add_column("STATE")
    table.add_column("P", justify="right")
    table.add_column("TYPE")
    table.add_column("PLATFORM")
    table.add_column("FINISHED" if finished else "WHEN")
    table.add_column("NAME / DETAIL", overflow="fold")
    for task in tasks:
        state, detail = ("RUNNING", "") if task.status == "running" else display_state(task)
        moment = task.finished_at if finished else task.scheduled_for
        table.add_row(
            str(task.pk),
            state,
            str(task.priority),
            task.type,
            task.platform or "-",
            local(moment),
            task.name + (f" — {detail}" if detail else ""),
        )
    return table


def event_table(events: Sequence[Event], *, title: str = "Events") -> Table:
    table = Table(title=title, title_justify="left", min_width=40)
    table.add_column("TIME")
    table.add_column("KIND")
    table.add_column("MESSAGE", overflow="fold")
    for event in events:
        table.add_row(local(event.created_at), event.kind, event.message or "")
    return table


def task_detail(task: Task) -> Table:
    table = Table(
        title=f"Task {task.pk}: {task.name}", title_justify="left", min_width=40, show_header=False
    )
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    state, detail = display_state(task)
    rows = {
        "type": task.type,
        "state": state + (f" — {detail}" if detail else ""),
        "platform": task.platform or "-",
        "account": task.account or "-",
        "Safari host": task.safari_host,
        "priority": str(task.priority),
        "attempt": f"{task.attempt} (retries {task.retry_count} of {task.max_retries})",
        "scheduled for": local(task.scheduled_for),
        "created": local(task.created_at),
        "started": local(task.started_at),
        "finished": local(task.finished_at),
        "dependencies": ", ".join(str(dep.pk) for dep in task.dependencies.all()) or "-",
        "payload": json.dumps(task.payload, ensure_ascii=False),
        "result": json.dumps(task.result, ensure_ascii=False) if task.result is not None else "-",
        "error": task.error or "-",
    }
    for key, value in rows.items():
        table.add_row(key, value)
    return table


def attempts(events: Iterable[Event]) -> list[dict[str, Any]]:
    """One entry per start of the task (events in time order): when, and how it ended."""
    found: list[dict[str, Any]] = []
    for event in events:
        if event.kind == "task.started":
            found.append(
                {
                    "attempt": len(found) + 1,
                    "startedAt": event.created_at,
                    "outcome": None,
                }
            )
        elif found and found[-1]["outcome"] is None and event.kind in ENDINGS:
            found[-1]["outcome"] = event.kind.removeprefix("task.")
            found[-1]["endedAt"] = event.created_at
            found[-1]["message"] = event.message
    return found


ENDINGS = {
    "task.completed",
    "task.failed",
    "task.cancelled",
    "task.blocked",
    "task.deferred",
    "task.requeued",
    "task.retry_scheduled",
    "task.reclaimed",
}


def attempt_table(rows: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="Attempts", title_justify="left", min_width=40)
    for column in ("#", "STARTED", "OUTCOME", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row["attempt"]),
            local(row["startedAt"]),
            row["outcome"] or "running",
            row.get("message") or "",
        )
    return table


def resources_tables(state: Mapping[str, Any], hosts: Sequence[str]) -> list[RenderableType]:
    """Hosts, Sora credits with the refresh countdown, and each platform with its state."""
    host_table = Table(title="Safari hosts", title_justify="left", min_width=40)
    for column in ("HOST", "WORKERS", "SINCE", "TASKS"):
        host_table.add_column(column, overflow="fold")
    states = {item["host"]: item for item in state.get("safariHosts") or []}
    for host in dict.fromkeys([*hosts, *states]):
        item = states.get(host) or {}
        since = item.get("since")
        host_table.add_row(
            host,
            item.get("state", "unknown"),
            local(since) if since else "",
            item.get("reason") or "run here",
        )
    items: list[RenderableType] = [host_table, sora_table(state.get("soraCredits"))]
    items.append(platform_table(state.get("platforms") or []))
    return items


def sora_table(credits: Mapping[str, Any] | None) -> Table:
    table = Table(title="Sora credits", title_justify="left", min_width=40, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    if not credits:
        table.add_row("credits", "not checked yet")
        return table
    free, paid, total = (
        credits.get("freeCredits"),
        credits.get("paidCredits"),
        credits.get("totalCredits"),
    )
    if free is None and paid is None:
        split = "split into free and paid unknown"
        table.add_row("remaining", f"{_or_unknown(total)} ({split})")
    else:
        table.add_row("remaining", f"{_or_unknown(total)} ({free} free, {paid} paid)")
    table.add_row("refresh", credits.get("timeUntilRefresh") or "unknown")
    table.add_row("last checked", str(credits.get("lastChecked") or "never"))
    return table


def platform_table(platforms: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="Platforms", title_justify="left", min_width=40)
    for column in ("PLATFORM", "ACCOUNT", "HOST", "STATE", "REASON", "TODAY", "HOUR"):
        table.add_column(column, overflow="fold")
    now = timezone.now()
    for item in platforms:
        limits = item.get("limits") or {}
        table.add_row(
            str(item.get("platform")),
            str(item.get("account") or "-"),
            str(item.get("safariHost") or "-"),
            "ready" if item.get("isReady") else "waiting",
            "; ".join(filter(None, [_platform_reason(item, now), *_action_holds(item)])),
            f"{item.get('messagesToday', 0)}/{limits.get('daily', '?')}",
            f"{item.get('messagesThisHour', 0)}/{limits.get('hourly', '?')}",
        )
    if not platforms:
        table.add_row("none registered", "", "", "", "", "", "")
    return table


def _platform_reason(item: Mapping[str, Any], now: datetime) -> str:
    if item.get("reason"):
        return str(item["reason"])
    if item.get("healthReason"):
        return str(item["healthReason"])
    cooldown = item.get("cooldownUntil")
    if isinstance(cooldown, datetime) and cooldown > now:
        return f"rate-limited, resumes in {duration_text(cooldown - now)}"
    if item.get("isLoggedIn") is False:
        return "logged out"
    if not item.get("lastProbeAt"):
        return "not checked yet"
    return ""


def _action_holds(item: Mapping[str, Any]) -> list[str]:
    """Another action of the account held on its own (its comment service is down)."""
    holds = item.get("actionHolds")
    return [f"held: {reason}" for reason in holds.values()] if isinstance(holds, dict) else []


def _or_unknown(value: Any) -> str:
    return "unknown" if value is None or value == -1 else str(value)
