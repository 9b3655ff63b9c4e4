from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Live dashboard"

    def ready(self) -> None:
        from dashboard import top
        from scheduler.registry import CliCommand, register_cli

        register_cli(CliCommand("top", top.HELP, top.arguments, top.handle))
