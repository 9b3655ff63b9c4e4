"""`manage.py load`: the load suite, concurrent API clients against the running system.

It starts the system as processes on a database of its own (a SQLite file in a temporary
folder; on `scale`, a Postgres database it creates and drops, and Redis), so it never touches
the database this command is pointed at. The suite lives in the top-level `benchmarks`
package (`benchmarks.load`), beside the apps.
"""

from __future__ import annotations

import importlib
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from safari_auto.management.stopping import stop_on_sigterm
from safari_auto.progress import heartbeat


class Command(BaseCommand):
    help = (
        "Run N concurrent API clients (queue reads and task creates) against daphne for S "
        "seconds, on SQLite and/or Postgres + Redis; print requests/s, p50/p95/p99, errors "
        "and 'database is locked', and whether the targets are met."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--clients", type=int, default=50, help="Concurrent API clients.")
        parser.add_argument("--seconds", type=float, default=60, help="Measured duration.")
        parser.add_argument(
            "--warmup", type=float, default=5, help="Seconds of load before measuring."
        )
        parser.add_argument(
            "--profile",
            choices=["sqlite", "scale", "both"],
            default="both",
            help="sqlite (the embedded default), scale (Postgres + Redis), or both.",
        )
        parser.add_argument(
            "--pace",
            type=float,
            default=1.0,
            help="Mean seconds between one client's requests (each gap 0.5-1.5x this).",
        )
        parser.add_argument(
            "--create-share", type=float, default=0.25, help="Share of requests that create."
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the clients' choices.")
        parser.add_argument(
            "--postgres-admin-url",
            default=None,
            help="Postgres database to create the run's database from (scale profile; "
            "default LOAD_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/test).",
        )
        parser.add_argument(
            "--redis-url",
            default=None,
            help="Redis for the scale profile (default LOAD_REDIS_URL or "
            "redis://127.0.0.1:6379/0).",
        )
        parser.add_argument("--out", default="bench-results", help="Folder for the JSON file.")

    def handle(self, *args: Any, **options: Any) -> None:
        stop_on_sigterm()
        if options["clients"] < 1 or options["seconds"] <= 0 or options["warmup"] < 0:
            raise CommandError("--clients must be 1 or more, --seconds above 0, --warmup >= 0")
        if options["pace"] <= 0 or not 0 <= options["create_share"] <= 1:
            raise CommandError("--pace must be above 0 and --create-share between 0 and 1")
        suite = importlib.import_module("benchmarks.load")
        with heartbeat(self.stdout, what="load", verbosity=options["verbosity"]):
            results = suite.run(stdout=self.stdout, options=options)
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        failed = []
        for profile, result in results.items():
            path = out / f"load-{profile}.json"
            path.write_text(json.dumps(result, indent=2))
            self.stdout.write(f"== {profile}: figures written to {path}")
            self.stdout.write(suite.table(result))
            for check, met in result["checks"].items():
                style = self.style.SUCCESS if met else self.style.ERROR
                self.stdout.write(style(f"  {'met   ' if met else 'MISSED'} {check}"))
                failed += [] if met else [f"{profile}: {check}"]
        if failed:
            raise CommandError("load targets missed: " + "; ".join(failed))
