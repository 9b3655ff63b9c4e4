from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("safari_auto", "0001_hash_api_tokens")]

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
