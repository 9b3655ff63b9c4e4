"""Create the first admin login (and an API token) once, and print them once."""

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Create an admin user with a random password if there is no superuser yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="Login name (default admin).")
        parser.add_argument("--password", default=None, help="Password (default: random).")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin login exists already (reset it with changepassword).")
            return
        password = options["password"] or secrets.token_urlsafe(12)
        user = users.objects.create_superuser(
            username=options["username"], email="", password=password
        )
        _, token = AuthToken.objects.create(user=user, expiry=None)  # only its digest is kept
        self.stdout.write(self.style.SUCCESS("Admin login created — shown once, keep it:"))
        self.stdout.write(f"  username: {user.get_username()}")
        self.stdout.write(f"  password: {password}")
        self.stdout.write(f"  API token: {token}")
        self.stdout.write("  (another token: python manage.py apitoken create <username>)")
