"""`python manage.py demo seed`: the demo's data, idempotently, only when DEMO=1."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safari_auto.demo_seed import DemoModeOff, demo_seed


class Command(BaseCommand):
    help = (
        "Demo mode's data: `seed` adds demo contacts, an active demo campaign, all-day DM "
        "automation and a trilogy waiting for Sora credits (only with DEMO=1; safe to repeat)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["seed"], help="seed: add what is missing.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = demo_seed()
        except DemoModeOff as exc:
            raise CommandError(f"{exc}; nothing was seeded") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        for line in result.lines():
            self.stdout.write(line)
