"""`manage.py scheduler top`: the dashboard in the terminal, refreshing until Ctrl-C.

Resources (platforms, Sora credits), the queue and recent activity, from the same selectors as
the web dashboard. `--once` prints one frame (for scripts and tests).
"""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.db import close_old_connections
from django.utils import timezone
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dashboard import activity, selectors
from safari_auto.times import duration_text
from scheduler import cli
from scheduler import selectors as scheduler_selectors

LEAVE = (signal.SIGINT, signal.SIGTERM)
HELP = "The dashboard in the terminal: resources, queue, recent activity (Ctrl-C to quit)."


def arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--interval", type=float, default=2.0, help="Seconds between refreshes (default 2)."
    )
    parser.add_argument("--once", action="store_true", help="Print one frame and exit.")
    parser.add_argument("--rows", type=int, default=10, help="Queue and activity rows (10).")


def frame(*, rows: int = 10) -> RenderableType:
    now = timezone.now()
    state = selectors.dashboard_state(now=now)
    header = Text(
        f"Safari Auto — scheduler {state['word']}"
        f" · queue {state['tasksInQueue']} · running {state['tasksRunning']}"
        f" · needs you {state['tasksBlocked']} · completed {state['tasksCompleted']}"
        f" · failed {state['tasksFailed']}"
        + (" · DEMO" if state.get("demo") else "")
        + f" · {timezone.localtime(now):%H:%M:%S}",
        style="bold",
    )
    queue = [
        *scheduler_selectors.task_running(),
        *scheduler_selectors.task_queue(limit=rows),
    ][:rows]
    return Group(
        header,
        platform_table(state["platformRows"], now=now),
        cli.sora_table(state.get("soraCredits")),
        cli.task_table(queue, title="Queue") if queue else Text("The queue is empty."),
        activity_table(rows=rows),
    )


def platform_table(rows: list[dict[str, Any]], *, now: datetime) -> Table:
    """Each platform as the web dashboard shows it: ready, rate-limited (resumes in …), …"""
    table = Table(title="Platforms", title_justify="left", min_width=40)
    for column in ("PLATFORM", "ACCOUNT", "STATE", "DETAIL", "TODAY", "HOUR"):
        table.add_column(column, overflow="fold")
    for row in rows:
        resumes = row.get("resumesAt")
        detail = str(row.get("detail") or "")
        if resumes is not None and resumes > now:
            detail = (detail + "; " if detail else "") + (
                f"resumes in {duration_text(resumes - now)}"
            )
        today = row.get("today")
        table.add_row(
            activity.platform_label(row.get("platform")),
            str(row.get("account") or ""),
            str(row.get("status") or ""),
            detail,
            "" if today is None else f"{today}/{row.get('cap') or '?'}",
            "" if row.get("hour") is None else str(row["hour"]),
        )
    if not rows:
        table.add_row("none", "", "", "", "", "")
    return table


def activity_table(*, rows: int) -> Table:
    table = Table(title="Recent activity", title_justify="left", min_width=40)
    table.add_column("TIME")
    table.add_column("WHAT", overflow="fold")
    shown = 0
    for event in selectors.recent_events(limit=rows * 5):
        text = selectors.event_text(event)
        if not text:
            continue
        table.add_row(cli.local(event.created_at)[11:], text)
        shown += 1
        if shown >= rows:
            break
    return table


def handle(options: dict[str, Any], out: Any) -> None:
    rows = max(1, min(int(options["rows"]), 100))
    if options["once"]:
        out.write(cli.render(frame(rows=rows)), ending="")
        return
    interval = max(0.2, float(options["interval"]))
    out.write(f"Refreshing every {interval:g} s; Ctrl-C to quit.")
    out.flush()
    stop = threading.Event()
    # Ctrl-C and SIGTERM both leave the live view, set here rather than inherited: a command
    # started in the background of a shell inherits SIGINT ignored, and then never quit.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in LEAVE}
    try:
        with Live(frame(rows=rows), console=Console(), screen=False, auto_refresh=False) as live:
            while not stop.wait(interval):
                close_old_connections()
                live.update(frame(rows=rows), refresh=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    out.write("Bye.")
