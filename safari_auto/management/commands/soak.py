"""`manage.py soak [--minutes 30]`: the soak (`benchmarks.soak`).

Runs the whole system in demo mode on a scratch folder (never on the database this command is
pointed at) with mixed work for `--minutes`, samples every process's memory, and prints each
one's growth trend and what was lost or doubled. Exits non-zero when work was lost, doubled or
stuck, or a process's memory grows (`benchmarks.soak.verdict`).
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
    help = "Mixed work on the whole system for a while: memory trends, nothing lost."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--minutes", type=float, default=30.0, help="How long (30).")
        parser.add_argument(
            "--sample-seconds", type=float, default=5.0, help="Memory sampling period (5)."
        )
        parser.add_argument(
            "--pace", type=float, default=1.0, help="Seconds between two load steps (1)."
        )
        parser.add_argument("--out", default="bench-results", help="Folder for soak.json.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop_on_sigterm()
        if options["minutes"] <= 0 or options["sample_seconds"] <= 0 or options["pace"] < 0:
            raise CommandError("--minutes and --sample-seconds must be positive, --pace >= 0")
        soak = importlib.import_module("benchmarks.soak")
        figures = soak.soak(
            minutes=options["minutes"],
            sample_seconds=options["sample_seconds"],
            pace_seconds=options["pace"],
            log=self.stdout.write,
        )
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "soak.json").write_text(json.dumps(figures, indent=2))
        broken = {k: figures[k] for k in ("duplicates", "lost", "stuck") if figures[k]}
        if broken:
            raise CommandError(f"the soak lost, doubled or left work stuck: {broken}")
        if figures["growing"]:
            raise CommandError(f"memory grows in {', '.join(figures['growing'])}")
        self.stdout.write(
            self.style.SUCCESS(
                f"soak: 0 duplicates, 0 lost, 0 stuck; memory: {figures['memory_verdict']}"
            )
        )
