from typing import Any

from django.apps import AppConfig, apps
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: Any) -> None:
    """After `migrate` (and a test flush), once the last app has its permissions: top up
    the role groups (safari_auto.roles)."""
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender.label != with_models[-1].label:
        return
    from safari_auto.roles import roles_sync

    roles_sync(apps)


class SafariAutoConfig(AppConfig):
    """The project package as an app: project-wide commands (bench, ensure_admin, role) and
    the roles' permissions (models.Access)."""

    name = "safari_auto"
    verbose_name = "Safari Auto"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, dispatch_uid="safari_auto.roles_sync")


class SafariAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with a site that also asks for a role (admin_site.py)."""

    default = False  # SafariAutoConfig stays this module's default
    default_site = "safari_auto.admin_site.RoleAdminSite"
