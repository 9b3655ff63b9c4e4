"""`manage.py scheduler …`: the PRD's scheduler commands.

start runs the dispatcher (one leader; others stand by); the rest read or change state
through the same services as the API.
"""

from __future__ import annotations

import json
import signal
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from safari_auto.api import ConflictError, NotFoundError
from safari_auto.inputs import load_json
from scheduler import registry, selectors, services
from scheduler.dispatcher import Dispatcher
from scheduler.timeparse import parse_when


def when(text: str) -> datetime:
    try:
        return parse_when(text, now=timezone.now(), tz=settings.TIME_ZONE)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def local(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


class Command(BaseCommand):
    help = "Run and control the scheduler: start|status|queue|pause|resume|stop|cancel|retry|…"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        start = sub.add_parser(
            "start", help="Run the dispatcher (leader or standby) until SIGTERM/Ctrl-C."
        )
        start.add_argument("--name", help="Name of this dispatcher (default host:pid).")
        sub.add_parser("status", help="Show whether a dispatcher leads, pauses and counts.")
        queue = sub.add_parser("queue", help="List queued and running tasks.")
        queue.add_argument("--limit", type=int, default=50, help="Rows to show (default 50).")
        sub.add_parser("resources", help="Show platforms, Safari hosts and Sora credits.")
        for name, text in (
            ("pause", "Pause (persisted); running tasks finish."),
            ("resume", "Lift a user pause."),
        ):
            cmd = sub.add_parser(name, help=text)
            cmd.add_argument("--platform", default="", help="Only this platform.")
            cmd.add_argument("--account", default="", help="Only this account (with --platform).")
            if name == "pause":
                cmd.add_argument("--reason", default="", help="Shown on the dashboard.")
        sub.add_parser("stop", help="Pause and ask running tasks to stop (back to pending).")
        for name, text in (
            ("cancel", "Cancel a task."),
            ("retry", "Run a failed or cancelled task again."),
        ):
            cmd = sub.add_parser(name, help=text)
            cmd.add_argument("task_id", help="Task id.")
        resched = sub.add_parser("reschedule", help="Move a queued task to a new time.")
        resched.add_argument("task_id", help="Task id.")
        resched.add_argument("when", help="ISO 8601, HH:MM (next such time), now or +10m.")
        decide = sub.add_parser(
            "decide", help="Decide a blocked task: done|retry (sends: sent|resend)."
        )
        decide.add_argument("task_id", help="Task id.")
        decide.add_argument("decision", help="The decision word.")
        decide.add_argument("--note", default="", help="Why, for the audit trail.")
        sched = sub.add_parser("schedule", help="Queue a task.")
        sched.add_argument("--type", required=True, help="Task type (see `status`).")
        sched.add_argument("--name", default="", help="A readable name.")
        sched.add_argument("--priority", type=int, default=3, help="1 (highest) to 5.")
        sched.add_argument("--at", default="now", help="When: ISO 8601, HH:MM, now or +10m.")
        sched.add_argument("--platform", default="", help="Platform, for platform tasks.")
        sched.add_argument("--account", default="", help="Account (default: the host's).")
        sched.add_argument("--payload", default="{}", help="JSON payload.")
        sched.add_argument("--depends", default="", help="Comma-separated task ids.")
        sched.add_argument("--safari", action="store_true", help="Needs Safari exclusively.")
        sched.add_argument("--key", default=None, help="Idempotency key.")
        for command in registry.cli_commands().values():
            command.add_arguments(sub.add_parser(command.name, help=command.help))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        plugin = registry.cli_commands().get(action)
        try:
            if plugin is not None:
                plugin.handle(options, self.stdout)
            else:
                getattr(self, f"do_{action}")(options)
        except (NotFoundError, ConflictError) as exc:
            raise CommandError(str(exc)) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    # --- actions ----------------------------------------------------------------------

    def do_start(self, options: dict[str, Any]) -> None:
        dispatcher = Dispatcher(name=options.get("name"), log=self.stdout.write)

        def _stop(signum: int, frame: object) -> None:
            dispatcher.stop_event.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        dispatcher.run_forever()

    def do_status(self, options: dict[str, Any]) -> None:
        state = selectors.scheduler_state()
        running = "running" if state["isRunning"] else "not running"
        self.stdout.write(
            f"Scheduler: {running}"
            + (
                f" (leader {state['leader']} since {local(state['startedAt'])})"
                if state["leader"]
                else ""
            )
        )
        if state["isStopped"]:
            self.stdout.write("Stopped: run `scheduler start` or `scheduler resume`.")
        for pause in selectors.pauses():
            self.stdout.write(f"Paused: {pause}")
        self.stdout.write(
            f"Queue {state['tasksInQueue']} · running {state['tasksRunning']} · blocked "
            f"{state['tasksBlocked']} · completed {state['tasksCompleted']} · failed "
            f"{state['tasksFailed']}"
        )
        self.stdout.write("Task types: " + ", ".join(sorted(registry.task_types())))

    def do_queue(self, options: dict[str, Any]) -> None:
        rows = [*selectors.task_running(), *selectors.task_queue(limit=options["limit"])]
        if not rows:
            self.stdout.write("The queue is empty.")
            return
        self.stdout.write(
            f"{'ID':>7}  {'STATE':<10} {'P':>1}  {'TYPE':<10} {'PLATFORM':<9} "
            f"{'WHEN':<19}  NAME / DETAIL"
        )
        for task in rows:
            state, detail = (
                ("RUNNING", "") if task.status == "running" else selectors.display_state(task)
            )
            self.stdout.write(
                f"{task.pk:>7}  {state:<10} {task.priority:>1}  {task.type:<10} "
                f"{task.platform or '-':<9} {local(task.scheduled_for):<19}  {task.name}"
                + (f" — {detail}" if detail else "")
            )

    def do_resources(self, options: dict[str, Any]) -> None:
        state = selectors.scheduler_state()
        self.stdout.write(f"Safari hosts: {', '.join(settings.SAFARI_HOSTS)}")
        self.stdout.write(f"Sora credits: {json.dumps(state['soraCredits'], default=str)}")
        platforms = state["platforms"] or []
        if not platforms:
            self.stdout.write("Platforms: none registered.")
        for item in platforms:
            self.stdout.write("  " + json.dumps(item, default=str))

    def do_pause(self, options: dict[str, Any]) -> None:
        pause = services.scheduler_pause(
            platform=options["platform"], account=options["account"], reason=options["reason"]
        )
        self.stdout.write(f"Paused: {pause}")

    def do_resume(self, options: dict[str, Any]) -> None:
        lifted = services.scheduler_resume(platform=options["platform"], account=options["account"])
        self.stdout.write(f"Resumed ({lifted} pause(s) lifted).")

    def do_stop(self, options: dict[str, Any]) -> None:
        asked = services.scheduler_stop()
        self.stdout.write(f"Stopped; {asked} running task(s) asked to stop.")

    def do_cancel(self, options: dict[str, Any]) -> None:
        task = services.task_cancel(task_id=options["task_id"], reason="cancelled from the CLI")
        self.stdout.write(
            f"Task {task.pk}: {task.status}" + (" (asked to stop)" if task.cancel_requested else "")
        )

    def do_retry(self, options: dict[str, Any]) -> None:
        task = services.task_retry(task_id=options["task_id"])
        self.stdout.write(f"Task {task.pk} is queued again.")

    def do_reschedule(self, options: dict[str, Any]) -> None:
        task = services.task_reschedule(task_id=options["task_id"], when=when(options["when"]))
        self.stdout.write(f"Task {task.pk} now runs at {local(task.scheduled_for)}.")

    def do_decide(self, options: dict[str, Any]) -> None:
        task = services.task_decide(
            task_id=options["task_id"], decision=options["decision"], note=options["note"]
        )
        self.stdout.write(f"Task {task.pk}: {task.status}.")

    def do_schedule(self, options: dict[str, Any]) -> None:
        try:
            payload = load_json(options["payload"], "--payload")
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not isinstance(payload, dict):
            raise CommandError("--payload must be a JSON object")
        try:
            depends = [int(x) for x in options["depends"].split(",") if x.strip()]
        except ValueError:
            raise CommandError("--depends takes comma-separated task ids") from None
        task, created = services.task_schedule(
            type=options["type"],
            name=options["name"],
            priority=options["priority"],
            scheduled_for=when(options["at"]),
            platform=options["platform"],
            account=options["account"],
            payload=payload,
            dependencies=depends,
            requirements={"safariExclusive": True} if options["safari"] else None,
            idempotency_key=options["key"],
        )
        verb = "Scheduled" if created else "Already scheduled (same key)"
        self.stdout.write(f"{verb}: task {task.pk} ({task.type}) at {local(task.scheduled_for)}")
