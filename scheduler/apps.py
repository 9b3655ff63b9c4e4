from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduler"

    def ready(self) -> None:
        from django_q.signals import pre_execute

        from scheduler import alerts, handlers, recurring, service_cli
        from scheduler.broker import Delivery
        from scheduler.registry import CliCommand, Recurring, register_cli, register_recurring

        handlers.register_builtin_types()
        alerts.connect()
        for name, text, handle in (
            ("install-service", service_cli.INSTALL_HELP, service_cli.install),
            ("uninstall-service", service_cli.UNINSTALL_HELP, service_cli.uninstall),
        ):
            register_cli(CliCommand(name, text, service_cli.arguments, handle))
        pre_execute.connect(Delivery.remember, dispatch_uid="scheduler.delivery")
        register_recurring(
            Recurring(
                name="cleanup: prune old tasks, events and results",
                func="scheduler.recurring.create_task",
                cron="17 3 * * *",
                kwargs={"task_type": "cleanup", "name": "daily clean-up"},
            )
        )
        post_migrate.connect(recurring.ensure_schedules, sender=self)
