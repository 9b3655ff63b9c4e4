"""`manage.py bench NAME`: run a benchmark, print its figures and write them as JSON.

Each benchmark lives in the top-level `benchmarks` package (`benchmarks.<name>`, beside the
apps, never inside one) with `run(*, stdout, options) -> dict` and measures a ratio against a
baseline in the same run, on the same database and broker.
"""

from __future__ import annotations

import importlib
import json
import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from safari_auto.management.stopping import stop_on_sigterm
from safari_auto.progress import heartbeat

BENCHES = {
    "scheduler": "benchmarks.scheduler",
    "crm": "benchmarks.crm",
    "dm": "benchmarks.dm",
    "dashboard": "benchmarks.dashboard",
    "recovery": "benchmarks.recovery",
    "hosts": "benchmarks.hosts",
}


class Command(BaseCommand):
    help = (
        "Run a benchmark (scheduler, crm, dm, dashboard, recovery, hosts) on a database named for "
        "benching."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", choices=sorted(BENCHES), help="Which benchmark to run.")
        parser.add_argument("--out", default="bench-results", help="Folder for the JSON file.")
        parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
        parser.add_argument(
            "--scale",
            action="store_true",
            help="Also measure on Postgres + Redis where the bench supports it.",
        )
        parser.add_argument("--tasks", type=int, default=None, help="Override the task count.")
        parser.add_argument(
            "--rounds", type=int, default=None, help="Throughput rounds (medians are reported)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stop_on_sigterm()
        db = settings.DATABASES["default"]
        if "bench" not in str(db.get("NAME", "")):
            raise CommandError(
                "Benchmarks write and delete lots of rows: point SQLITE_PATH (or DATABASE_URL) "
                "at a database whose name contains 'bench', e.g. "
                "SQLITE_PATH=bench-results/bench.sqlite3"
            )
        # As deployed: DEBUG would log every query, in this process and in the ones it starts.
        os.environ["DEBUG"] = "0"
        settings.DEBUG = False
        try:
            module = importlib.import_module(BENCHES[options["name"]])
        except ModuleNotFoundError as exc:
            raise CommandError(f"no benchmark module {BENCHES[options['name']]}: {exc}") from None
        # A bench runs for minutes: a line every 30 s says it is alive (its own stages print
        # what they measure; their sizes are not known here).
        with heartbeat(
            self.stdout, what=f"bench {options['name']}", verbosity=options["verbosity"]
        ):
            figures = module.run(stdout=self.stdout, options=options)
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{options['name']}-{db['ENGINE'].rsplit('.', 1)[-1]}.json"
        path.write_text(json.dumps(figures, indent=2, default=str))
        self.stdout.write(json.dumps(figures, indent=2, default=str))
        self.stdout.write(self.style.SUCCESS(f"figures written to {path}"))
