"""`scheduler sora …` (wired lazily by the scheduler command) and `scheduler resources` lines.

`add_arguments(parser)` adds the flags; `handle(options, stdout)` runs them. Both mirror the
PRD: `scheduler sora --trilogy first_contact --when-credits 3`.
"""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from scheduler import idempotency, taskinput
from sora import importer, selectors, services


class Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trilogy", help="Queue this trilogy id (e.g. first_contact).")
    parser.add_argument(
        "--when-credits",
        type=int,
        default=3,
        dest="when_credits",
        help="Wait until this many credits are free (at least its parts).",
    )
    parser.add_argument("--priority", type=int, default=2, help="1 (highest) to 5; default 2.")
    parser.add_argument("--name", default="", help="A label for this run.")
    parser.add_argument(
        "--idempotency-key",
        default=None,
        dest="idempotency_key",
        help="Repeat-safe key: the same key queues once.",
    )
    parser.add_argument("--credits", action="store_true", help="Show the credit picture.")
    parser.add_argument("--check", action="store_true", help="Queue a credit check now.")
    parser.add_argument("--list", action="store_true", help="List the known trilogies.")
    parser.add_argument(
        "--import", dest="import_file", metavar="FILE", help="Import a trilogy batch file."
    )


def credit_lines() -> list[str]:
    summary = selectors.credits_summary(now=timezone.now())
    credits: dict[str, Any] = summary["credits"]  # type: ignore[assignment]

    def show(value: Any) -> str:
        return "unknown" if value is None else str(value)

    return [
        f"Sora credits: {show(credits['availableCredits'])} available "
        f"({show(credits['remainingCredits'])} remaining - {credits['reservedCredits']} "
        f"reserved; free {show(credits['freeCredits'])}, paid {show(credits['paidCredits'])})",
        f"  last checked {show(credits['lastChecked'])}; refresh ≈ "
        f"{show(credits['estimatedRefreshTime'])} (in {show(summary['timeUntilRefresh'])}, "
        f"every ~{credits['refreshIntervalHours']}h)",
        f"  generation slots {credits['slotsInUse']}/{credits['slotCapacity']} in use",
    ]


def cli_key(key: str | None) -> str | None:
    """A key typed at the CLI lives in the CLI's namespace, apart from the system's."""
    if not key:
        return None
    taskinput.check_text("idempotencyKey", key, max_length=150)
    return idempotency.client_key(owner="cli", key=key)


def handle(options: dict[str, Any], stdout: Writer) -> None:
    did = False
    try:
        if options.get("import_file"):
            result = importer.batch_import_file(path=options["import_file"])
            stdout.write(result.message + "\n")
            did = True
        if options.get("trilogy"):
            queued = services.trilogy_queue(
                slug=options["trilogy"],
                label=options.get("name") or "",
                wait_for_credits=int(options.get("when_credits") or 0),
                priority=int(options.get("priority") or 2),
                idempotency_key=cli_key(options.get("idempotency_key")),
            )
            ids = ", ".join(f"#{pk}" for pk in queued.task_ids)
            stdout.write(f"{queued.message} (tasks {ids})\n")
            did = True
        if options.get("check"):
            task = services.credit_check_ensure(reason="asked from the CLI", due_now=True)
            stdout.write(
                f"credit check queued as #{task.pk}\n"
                if task
                else "a credit check is already queued\n"
            )
            did = True
        if options.get("list"):
            for trilogy in selectors.trilogy_list():
                stdout.write(f"{trilogy.slug}: {trilogy.title} ({trilogy.parts.count()} parts)\n")
            did = True
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    if options.get("credits") or not did:
        stdout.write("\n".join(credit_lines()) + "\n")
