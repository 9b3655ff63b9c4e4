"""`manage.py chaos [--fault NAME ...] [--times 20]`: the chaos suite (`benchmarks.chaos`).

Starts a system of real processes per fault on a scratch folder (it never touches the
database this command is pointed at), injects the fault `--times` times, and prints a table
per fault: runs, duplicates, lost, stuck, recovery p50/max. Exits non-zero when a fault broke
an expectation.
"""

from __future__ import annotations

import importlib
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from safari_auto.management.stopping import stop_on_sigterm


class Command(BaseCommand):
    help = "Inject faults into the running system (real processes) and count what broke."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            help="A fault to run (repeatable; default: all). --list names them.",
        )
        parser.add_argument("--times", type=int, default=20, help="Rounds per fault (20).")
        parser.add_argument("--seed", type=int, default=1, help="Seed for the kill timings.")
        parser.add_argument("--out", default="bench-results", help="Folder for chaos.json.")
        parser.add_argument("--list", action="store_true", help="List the faults and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop_on_sigterm()
        chaos = importlib.import_module("benchmarks.chaos")
        faults = importlib.import_module("benchmarks.chaos.faults")
        if options["list"]:
            for name in chaos.NAMES:
                self.stdout.write(f"{name:<24} {faults.build(name, Path('.')).about}")
            return
        names = options["fault"] or list(chaos.NAMES)
        unknown = sorted(set(names) - set(chaos.NAMES))
        if unknown:
            raise CommandError(f"unknown fault(s) {', '.join(unknown)}; --list names them")
        if options["times"] < 1:
            raise CommandError("--times must be at least 1")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)

        def save(reports: list[Any]) -> None:
            (out / "chaos.json").write_text(json.dumps([r.as_dict() for r in reports], indent=2))

        reports = chaos.run_faults(
            names,
            times=options["times"],
            seed=options["seed"],
            log=self.stdout.write,
            on_report=save,
        )
        self.stdout.write(chaos.table(reports))
        failed = [r.name for r in reports if not r.ok]
        if failed:
            raise CommandError(f"faults that broke an expectation: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS("every fault: 0 duplicates, 0 lost, 0 stuck"))
