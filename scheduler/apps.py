from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SchedulerConfig(AppConfig):
    name = "scheduler"
    verbose_name = "Scheduler"

    def ready(self) -> None:
        from django_q.signals import pre_execute

        from scheduler import alerts, handlers, recurring
        from scheduler.broker import Delivery
        from scheduler.registry import Recurring, register_recurring

        handlers.register_builtin_types()
        alerts.connect()
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
