"""Grant or take away a role: `manage.py role --user ana --role operator [--remove]`."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safari_auto.roles import ROLES


class Command(BaseCommand):
    help = (
        "Give a user a role (viewer reads, operator controls), or take it away. "
        "Without --role, show the user's roles."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="The login name.")
        parser.add_argument("--role", choices=ROLES, help="viewer or operator.")
        parser.add_argument("--remove", action="store_true", help="Take the role away.")

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()
        user = users.objects.filter(**{users.USERNAME_FIELD: options["user"]}).first()
        if user is None:
            raise CommandError(f"no user {options['user']!r} (create one with createsuperuser)")
        role = options["role"]
        if role:
            group = Group.objects.filter(name=role).first()
            if group is None:
                raise CommandError(f"no {role!r} group: run `manage.py migrate` first")
            if options["remove"]:
                user.groups.remove(group)
            else:
                user.groups.add(group)
        elif options["remove"]:
            raise CommandError("--remove needs --role")
        names = sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        extra = " (superuser: every role)" if user.is_superuser else ""
        self.stdout.write(f"{user.get_username()}: {', '.join(names) or 'no role'}{extra}")
