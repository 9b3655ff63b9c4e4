"""Alert webhook tasks no longer carry their URL: keep only the alert body as the payload,
and replace the URL wherever it was copied (the task's error, its events' messages)."""

from django.db import migrations

SHOWN = "the alert webhook"


def strip_webhook_urls(apps, schema_editor):
    task_model = apps.get_model("scheduler", "Task")
    event_model = apps.get_model("scheduler", "Event")
    for task in task_model.objects.filter(type="webhook").iterator():
        payload = task.payload if isinstance(task.payload, dict) else {}
        url = payload.get("url")
        if not url:
            continue
        body = payload.get("body")
        task.payload = body if isinstance(body, dict) else {}
        task.error = (task.error or "").replace(str(url), SHOWN)
        task.save(update_fields=["payload", "error"])
        for event in event_model.objects.filter(task_id=task.pk, message__contains=url):
            event.message = event.message.replace(str(url), SHOWN)
            event.save(update_fields=["message"])


class Migration(migrations.Migration):
    dependencies = [("scheduler", "0003_ready_tasks_partial_indexes")]
    operations = [migrations.RunPython(strip_webhook_urls, migrations.RunPython.noop)]
