"""`manage.py scheduler …`: the PRD's scheduler commands.

start runs the dispatcher (one leader; others stand by); the rest read or change state
through the same services as the API.
"""

from __future__ import annotations

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
from scheduler import cli, idempotency, registry, selectors, services
from scheduler.api.serializers import FinishedQuerySerializer
from scheduler.dispatcher import Dispatcher
from scheduler.timeparse import parse_when

# Whose namespace the CLI's idempotency keys live in: a person at a terminal is a client.
CLI_CLIENT = "cli"


def when(text: str) -> datetime:
    try:
        return parse_when(text, now=timezone.now(), tz=settings.TIME_ZONE)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def validation_text(exc: ValidationError) -> str:
    """Each message with the field it is about."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {message}" if field != "__all__" else message
            for field, messages in exc.message_dict.items()
            for message in messages
        )
    return "; ".join(exc.messages)


local = cli.local


def _bounded(value: int, flag: str, maximum: int = 1000) -> int:
    if not 1 <= value <= maximum:
        raise CommandError(f"{flag} must be between 1 and {maximum}")
    return value


class Command(BaseCommand):
    help = "Run and control the scheduler: start|status|queue|pause|resume|stop|cancel|retry|…"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        start = sub.add_parser(
            "start", help="Run the dispatcher (leader or standby) until SIGTERM/Ctrl-C."
        )
        start.add_argument("--name", help="Name of this dispatcher (default host:pid).")
        start.add_argument(
            "--keep-paused",
            action="store_true",
            help="Leave a stop or pause in place (for service managers restarting the dispatcher).",
        )
        status = sub.add_parser("status", help="Show whether a dispatcher leads, pauses, counts.")
        queue = sub.add_parser("queue", help="List queued and running tasks.")
        queue.add_argument("--limit", type=int, default=50, help="Rows to show (default 50).")
        resources = sub.add_parser("resources", help="Show Safari hosts, Sora credits, platforms.")
        history = sub.add_parser("history", help="List finished tasks, newest first.")
        history.add_argument(
            "--status",
            default="",
            help="Comma-separated: completed, failed, cancelled (default: all three).",
        )
        history.add_argument("--limit", type=int, default=20, help="Rows to show (default 20).")
        show = sub.add_parser("show", help="One task: its fields, attempts and events.")
        show.add_argument("task_id", help="The task's id.")
        for reader in (status, queue, resources, history, show):
            reader.add_argument(
                "--json", action="store_true", help="Print JSON (the API's shapes) for scripts."
            )
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
        sched.add_argument(
            "--type",
            required=True,
            help="Task type: " + ", ".join(sorted(registry.client_task_types())),
        )
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
            raise CommandError(validation_text(exc)) from None

    # --- actions ----------------------------------------------------------------------

    def do_start(self, options: dict[str, Any]) -> None:
        state = selectors.scheduler_state()
        if state["isStopped"] or state["isPaused"]:
            if options.get("keep_paused"):
                self.stdout.write("Stopped or paused: dispatching waits for `scheduler resume`.")
            else:
                services.scheduler_start()
                self.stdout.write("Lifted the stop and the global pause.")
        dispatcher = Dispatcher(name=options.get("name"), log=self.stdout.write)

        def _stop(signum: int, frame: object) -> None:
            dispatcher.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        dispatcher.run_forever()

    def do_status(self, options: dict[str, Any]) -> None:
        state = selectors.scheduler_state()
        if options.get("json"):
            self.stdout.write(cli.as_json(state), ending="")
            return
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
        for host in state["safariHosts"]:
            if host["reason"]:
                self.stdout.write(f"Held: {host['reason']}: its tasks wait")
        self.stdout.write(
            f"Queue {state['tasksInQueue']} · running {state['tasksRunning']} · blocked "
            f"{state['tasksBlocked']} · completed {state['tasksCompleted']} · failed "
            f"{state['tasksFailed']}"
        )
        self.stdout.write("Task types: " + ", ".join(sorted(registry.task_types())))

    def do_queue(self, options: dict[str, Any]) -> None:
        limit = _bounded(options["limit"], "--limit")
        rows = [*selectors.task_running(), *selectors.task_queue(limit=limit)]
        if options.get("json"):
            self.stdout.write(cli.as_json({"queue": cli.tasks_json(rows)}), ending="")
            return
        if not rows:
            self.stdout.write("The queue is empty.")
            return
        self.stdout.write(cli.render(cli.task_table(rows, title="Queue")), ending="")

    def do_history(self, options: dict[str, Any]) -> None:
        query = FinishedQuerySerializer(
            data={"status": options["status"], "limit": _bounded(options["limit"], "--limit")}
        )
        if not query.is_valid():
            raise CommandError("; ".join(f"--{k}: {' '.join(v)}" for k, v in query.errors.items()))
        rows = list(
            selectors.task_finished(
                statuses=query.validated_data["status"], limit=query.validated_data["limit"]
            )
        )
        if options.get("json"):
            self.stdout.write(cli.as_json({"completed": cli.tasks_json(rows)}), ending="")
            return
        if not rows:
            self.stdout.write("No finished tasks yet.")
            return
        table = cli.task_table(rows, title="Finished tasks, newest first", finished=True)
        self.stdout.write(cli.render(table), ending="")

    def do_show(self, options: dict[str, Any]) -> None:
        task = selectors.task_get(task_id=options["task_id"])
        if task is None:
            raise CommandError(f"No task {options['task_id']}.")
        events = list(task.events.order_by("created_at", "id"))
        attempts = cli.attempts(events)
        if options.get("json"):
            document = {
                "task": cli.tasks_json([task])[0],
                "attempts": attempts,
                "events": [
                    {"at": e.created_at, "kind": e.kind, "message": e.message, "data": e.data}
                    for e in events
                ],
            }
            self.stdout.write(cli.as_json(document), ending="")
            return
        rendered = cli.render(
            cli.task_detail(task), cli.attempt_table(attempts), cli.event_table(events)
        )
        self.stdout.write(rendered, ending="")

    def do_resources(self, options: dict[str, Any]) -> None:
        state = selectors.scheduler_state()
        if options.get("json"):
            document = {
                "safariHosts": list(settings.SAFARI_HOSTS),
                "hosts": state["safariHosts"],
                "soraCredits": state["soraCredits"],
                "platforms": state["platforms"],
            }
            self.stdout.write(cli.as_json(document), ending="")
            return
        tables = cli.resources_tables(state, settings.SAFARI_HOSTS)
        self.stdout.write(cli.render(*tables), ending="")

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
        asked = {
            name: options[name]
            for name in ("type", "name", "priority", "at", "platform", "account", "depends")
        }
        task, created = services.task_schedule(
            client=CLI_CLIENT,
            request_hash=idempotency.body_hash(
                {**asked, "payload": payload, "safari": options["safari"]}
            ),
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
