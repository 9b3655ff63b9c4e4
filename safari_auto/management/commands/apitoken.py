"""Manage API tokens (`Authorization: Token <token>`): create (printed once), list, revoke.

Only a token's SHA-512 digest is stored (django-rest-knox); a lost token cannot be shown
again, only revoked and replaced.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Create, list or revoke a user's API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (shown only once).")
        create.add_argument("username", help="The user the token acts as.")
        create.add_argument("--days", type=int, default=0, help="Expire after N days (0: never).")
        listing = sub.add_parser(
            "list", help="List tokens: key prefix, user, expiry (expired ones are deleted first)."
        )
        listing.add_argument("username", nargs="?", help="Only this user's tokens.")
        revoke = sub.add_parser("revoke", help="Revoke the token whose first characters these are.")
        revoke.add_argument("prefix", help="The token's first characters (8 at least).")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user {options['username']!r}")
        if options["days"] < 0:
            raise CommandError("--days must be 0 (never) or more")
        expiry = timedelta(days=options["days"]) if options["days"] else None
        _, token = AuthToken.objects.create(user=user, expiry=expiry)
        self.stdout.write(token)

    def _list(self, options: dict[str, Any]) -> None:
        # Expired tokens are refused; API requests no longer sweep them (safari_auto.tokens).
        AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
        tokens = AuthToken.objects.select_related("user").order_by("created")
        if options["username"]:
            tokens = tokens.filter(user__username=options["username"])
        for token in tokens:
            expiry = token.expiry.isoformat() if token.expiry else "never expires"
            self.stdout.write(f"{token.token_key[:8]}…  {token.user}  {expiry}")

    def _revoke(self, options: dict[str, Any]) -> None:
        prefix = options["prefix"]
        if len(prefix) < 8:
            raise CommandError("Give at least the first 8 characters of the token")
        tokens = AuthToken.objects.filter(token_key__startswith=prefix[:15])
        if tokens.count() != 1:
            raise CommandError(f"{tokens.count()} tokens match {prefix[:8]!r}…; give more")
        tokens.delete()
        self.stdout.write(f"Revoked the token {prefix[:8]}…")
