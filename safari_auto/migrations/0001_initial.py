from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.CreateModel(
            name="Access",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
            ],
            options={
                "verbose_name": "access",
                "permissions": [
                    ("read", "Can read the queue, history, resources, CRM and videos (viewer)"),
                    (
                        "operate",
                        "Can control the scheduler, tasks, accounts, CRM and Sora (operator)",
                    ),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
