"""`python manage.py sora import FILE | queue TRILOGY | credits | check | list`: the same
handler and options as `scheduler sora` (sora/cli.py), as sub-commands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from sora import cli, importer


class Command(BaseCommand):
    help = "Sora trilogies and credits: import batch files, queue trilogies, show credits."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import", help="Import a trilogy batch file (CONTRACTS.md format).")
        imp.add_argument(
            "file",
            nargs="?",
            default=str(importer.SAMPLE_FILE),
            help="The batch JSON file (default: the bundled sample).",
        )
        queue = sub.add_parser("queue", help="Queue a trilogy, gated on its credits.")
        queue.add_argument("trilogy", help="The trilogy id, e.g. first_contact.")
        cli.queue_arguments(queue)
        sub.add_parser("credits", help="Show credits, reservations and the refresh estimate.")
        sub.add_parser("check", help="Queue a credit check now.")
        sub.add_parser("list", help="List the known trilogies.")

    def handle(self, *args: Any, **options: Any) -> None:
        # Each sub-command is one of `scheduler sora`'s flags; cli.handle runs both.
        action = options["action"]
        flags: dict[str, dict[str, Any]] = {
            "import": {"import_file": options.get("file"), "verbosity": options["verbosity"]},
            "queue": {
                key: options.get(key)
                for key in ("trilogy", "when_credits", "priority", "idempotency_key")
            },
            "credits": {"credits": True},
            "check": {"check": True},
            "list": {"list": True},
        }
        cli.handle(flags[action], self.stdout)
