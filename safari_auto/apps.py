from django.apps import AppConfig


class SafariAutoConfig(AppConfig):
    """The project package as an app, for project-wide commands (bench, ensure_admin)."""

    name = "safari_auto"
    verbose_name = "Safari Auto"
