"""Row counts of every table of our apps: a request that answers an error must leave them as
they were ("a request that answers an error has written nothing")."""

from __future__ import annotations

from django.apps import apps
from django.db import connection
from django.db.models import Count, Max

APPS = ("scheduler", "crm", "dm", "sora")

Snapshot = dict[str, tuple[int, object]]


def snapshot() -> Snapshot:
    rows: Snapshot = {}
    for label in APPS:
        if not apps.is_installed(label):
            continue
        for model in apps.get_app_config(label).get_models():
            found = model._default_manager.aggregate(n=Count("pk"), top=Max("pk"))
            rows[model._meta.db_table] = (found["n"], found["top"])
    return rows


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
