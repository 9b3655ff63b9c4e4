"""API tokens at rest: DRF's clear-text tokens become knox's SHA-512 digests.

Each existing `authtoken_token` key is hashed into a knox token that never expires, so every
script's `Authorization: Token <key>` keeps working; then the clear-text table is dropped and
its migration records removed (the app is no longer installed).
"""

from django.db import migrations

OLD_TABLE = "authtoken_token"


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    auth_token = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {OLD_TABLE}")  # noqa: S608 - a constant
        rows = cursor.fetchall()
    auth_token.objects.bulk_create(
        auth_token(
            digest=hash_token(key), token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id=user_id
        )
        for key, user_id in rows
    )
    schema_editor.execute(f"DROP TABLE {OLD_TABLE}")
    schema_editor.execute("DELETE FROM django_migrations WHERE app = 'authtoken'")


class Migration(migrations.Migration):
    dependencies = [("knox", "0009_extend_authtoken_field")]
    operations = [migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop)]
