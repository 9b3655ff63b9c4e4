"""Create the `viewer` and `operator` groups with their permissions (safari_auto.roles).

Permissions are normally created after `migrate` ends, so this creates the ones the state
knows of first. Models of apps migrated later join their roles after `migrate`
(`roles_sync` runs on post_migrate as well)."""

from typing import Any

from django.contrib.auth.management import create_permissions
from django.db import migrations

from safari_auto.roles import ROLES, roles_sync


def forwards(apps: Any, schema_editor: Any) -> None:
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


def backwards(apps: Any, schema_editor: Any) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("safari_auto", "0002_access"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
