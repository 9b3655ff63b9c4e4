"""Message.text_key is now the hash of the NFKC-normalised text (safari_auto/text.py), the rule
the DM read-back uses too; it was NFC. Recompute the keys that change (texts with an ellipsis,
full-width letters, ligatures...), so a message stored before is still recognised when a sync
brings it again."""

import hashlib

from django.db import migrations

from safari_auto.text import normalise_text


def _key(text: str) -> str:
    return hashlib.sha1(normalise_text(text).encode(), usedforsecurity=False).hexdigest()


def rekey(apps, schema_editor):
    message = apps.get_model("crm", "Message")
    last = 0
    while True:  # pk-ordered slices, each read whole before it is written (SQLite)
        rows = list(message.objects.filter(pk__gt=last).order_by("pk").only("text", "text_key")[:1000])
        if not rows:
            return
        last = rows[-1].pk
        changed = [row for row in rows if _key(row.text) != row.text_key]
        for row in changed:
            row.text_key = _key(row.text)
        message.objects.bulk_update(changed, ["text_key"])


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_platformaccount_display_only")]

    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
