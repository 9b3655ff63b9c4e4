"""Row counts of every table of our apps: a request that answers an error must leave them as
they were ("a request that answers an error has written nothing")."""

from __future__ import annotations

from functools import cache

from django.apps import apps
from django.db import connection

APPS = ("scheduler", "crm", "dm", "sora")

Snapshot = dict[str, tuple[int, object]]


@cache
def _tables() -> tuple[list[str], str]:
    """The tables, and one statement reading each one's row count and highest key."""
    tables, parts = [], []
    for label in APPS:
        if not apps.is_installed(label):
            continue
        for model in apps.get_app_config(label).get_models():
            table = connection.ops.quote_name(model._meta.db_table)
            pk = connection.ops.quote_name(model._meta.pk.column)
            tables.append(model._meta.db_table)
            parts += [f"(SELECT COUNT(*) FROM {table})", f"(SELECT MAX({pk}) FROM {table})"]  # noqa: S608 (names from the models)
    return tables, "SELECT " + ", ".join(parts)


def snapshot() -> Snapshot:
    tables, sql = _tables()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return {t: (row[2 * i], row[2 * i + 1]) for i, t in enumerate(tables)}


def changed(before: Snapshot, after: Snapshot) -> dict[str, tuple[object, object]]:
    return {t: (before.get(t), after[t]) for t in after if before.get(t) != after[t]}


def integrity_problems() -> list[str]:
    """`PRAGMA integrity_check` on SQLite (empty when it is ok); nothing to check elsewhere."""
    if connection.vendor != "sqlite":
        return []
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA integrity_check")
        answers = [row[0] for row in cursor.fetchall()]
    return [] if answers == ["ok"] else answers
