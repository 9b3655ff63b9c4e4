"""On Postgres, a committed event wakes its listeners: a statement-level trigger on the event
table sends NOTIFY (delivered at commit, never for a rolled-back insert) on two channels:
`scheduler_event` for any new event (the dashboard relay) and `scheduler_wake` when one of
them can change eligibility (the dispatcher). Each payload is the newest such id of the
statement. SQLite has no NOTIFY: its processes keep polling, and this migration does nothing.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION scheduler_event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    newest bigint;
    waking bigint;
BEGIN
    SELECT max(id), max(id) FILTER (WHERE wakes) INTO newest, waking FROM new_events;
    IF newest IS NOT NULL THEN
        PERFORM pg_notify('scheduler_event', newest::text);
    END IF;
    IF waking IS NOT NULL THEN
        PERFORM pg_notify('scheduler_wake', waking::text);
    END IF;
    RETURN NULL;
END
$$;
"""
TRIGGER = """
CREATE TRIGGER scheduler_event_notify AFTER INSERT ON {table}
REFERENCING NEW TABLE AS new_events
FOR EACH STATEMENT EXECUTE FUNCTION scheduler_event_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS scheduler_event_notify ON {table};
DROP FUNCTION IF EXISTS scheduler_event_notify();
"""


def _table(apps, schema_editor):
    event = apps.get_model("scheduler", "Event")
    return schema_editor.quote_name(event._meta.db_table)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    schema_editor.execute(TRIGGER.format(table=_table(apps, schema_editor)))


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP.format(table=_table(apps, schema_editor)))


class Migration(migrations.Migration):
    dependencies = [
        ("scheduler", "0006_worker_hosts"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
