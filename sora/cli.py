"""`scheduler sora …` (wired lazily by the scheduler command) and `scheduler resources` lines.

`add_arguments(parser)` adds the flags; `handle(options, stdout)` runs them. Both mirror the
PRD: `scheduler sora --trilogy first_contact --when-credits 3`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from safari_auto.inputs import load_json
from safari_auto.progress import Progress
from scheduler import idempotency, taskinput
from sora import importer, selectors, services, singles


class Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


def queue_arguments(parser: argparse.ArgumentParser) -> None:
    """How a trilogy is queued: `scheduler sora --trilogy` and `sora queue` share these."""
    parser.add_argument(
        "--when-credits",
        type=int,
        default=3,
        dest="when_credits",
        help="Wait until this many credits are free (at least its parts).",
    )
    parser.add_argument("--priority", type=int, default=2, help="1 (highest) to 5; default 2.")
    parser.add_argument(
        "--idempotency-key",
        default=None,
        dest="idempotency_key",
        help="Repeat-safe key: the same key queues once.",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trilogy", help="Queue this trilogy id (e.g. first_contact).")
    queue_arguments(parser)
    parser.add_argument("--name", default="", help="A label for this run.")
    parser.add_argument(
        "--prompt",
        action="append",
        default=[],
        help="Queue a single video with this prompt (repeat for several, kept in order).",
    )
    parser.add_argument("--title", default="", help="The title of a single --prompt video.")
    parser.add_argument(
        "--file",
        dest="prompts_file",
        metavar="FILE",
        help='Queue single videos from a JSON file: ["prompt", …] or [{"prompt", "title"}, …].',
    )
    parser.add_argument("--credits", action="store_true", help="Show the credit picture.")
    parser.add_argument("--check", action="store_true", help="Queue a credit check now.")
    parser.add_argument("--list", action="store_true", help="List the known trilogies.")
    parser.add_argument(
        "--import", dest="import_file", metavar="FILE", help="Import a trilogy batch file."
    )


def _videos(options: dict[str, Any]) -> list[dict[str, str]]:
    """The single videos asked for with --prompt and --file, in order."""
    videos = [
        {"prompt": text, **({"title": options["title"]} if options.get("title") else {})}
        for text in options.get("prompt") or []
    ]
    path = options.get("prompts_file")
    if path:
        try:
            document = load_json(Path(path).read_text(encoding="utf-8"), "--file")
        except OSError as exc:
            raise CommandError(f"--file: cannot read {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not isinstance(document, list):
            raise CommandError('--file: give a JSON list of prompts or {"prompt", "title"}')
        for index, item in enumerate(document):
            item = {"prompt": item} if isinstance(item, str) else item
            if not isinstance(item, dict) or not isinstance(item.get("prompt"), str):
                raise CommandError(f"--file: item {index} has no prompt")
            videos.append({"prompt": item["prompt"], "title": str(item.get("title") or "")})
    for video in videos:
        if not video["prompt"].strip():
            raise CommandError("a video needs a prompt")
    return videos


def credit_lines() -> list[str]:
    summary = selectors.credits_summary(now=timezone.now())
    credits: dict[str, Any] = summary["credits"]  # type: ignore[assignment]

    def show(value: Any) -> str:
        return "unknown" if value is None else str(value)

    if credits["freeCredits"] is None and credits["paidCredits"] is None:
        split = "the split into free and paid is unknown"
    else:
        split = f"free {show(credits['freeCredits'])}, paid {show(credits['paidCredits'])}"
    return [
        f"Sora credits: {show(credits['availableCredits'])} available "
        f"({show(credits['remainingCredits'])} remaining - {credits['reservedCredits']} "
        f"reserved; {split})",
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
            verbosity = int(options.get("verbosity", 1))
            with Progress(stdout, what="trilogies imported", verbosity=verbosity) as shown:
                result = importer.batch_import_file(
                    path=options["import_file"], on_progress=shown.step
                )
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
        videos = _videos(options)
        if videos:
            batch = singles.videos_queue(
                videos=videos,
                priority=int(options.get("priority") or 2),
                client="cli",
                idempotency_key=options.get("idempotency_key"),
            )
            fresh = sum(1 for _, created in batch if created)
            ids = ", ".join(f"#{task.pk}" for task, _ in batch)
            stdout.write(
                f"{fresh} video(s) queued (tasks {ids}); each starts when a Sora credit is free\n"
            )
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
