"""Manage the CRM API's x-api-keys: create (prints the key once), list, revoke."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from crm.models import ApiKey
from crm.services import apikey_create, apikey_revoke


class Command(BaseCommand):
    help = "Create, list or revoke CRM API keys (the x-api-key header)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it (shown only once).")
        create.add_argument("--name", required=True, help="Who or what uses the key.")
        create.add_argument("--quiet", action="store_true", help="Print only the key, for scripts.")
        sub.add_parser("list", help="List keys (prefix, name, state, last use).")
        revoke = sub.add_parser("revoke", help="Revoke the key with this prefix.")
        revoke.add_argument("prefix", help="The key's first characters, as listed.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            _, raw = apikey_create(name=options["name"])
            if options["quiet"]:
                self.stdout.write(raw)
            else:
                self.stdout.write(f"Created key for {options['name']}: {raw}")
                self.stdout.write("Store it now; only its hash is kept.")
        elif action == "list":
            for key in ApiKey.objects.order_by("created_at"):
                state = "active" if key.is_active else "revoked"
                used = key.last_used_at.isoformat() if key.last_used_at else "never"
                self.stdout.write(f"{key.prefix}  {key.name}  {state}  last used {used}")
        else:
            keys = list(ApiKey.objects.filter(prefix__startswith=options["prefix"]))
            if len(keys) != 1:
                raise CommandError(f"{len(keys)} keys match {options['prefix']!r}; give one")
            apikey_revoke(key=keys[0])
            self.stdout.write(f"Revoked {keys[0]}")
