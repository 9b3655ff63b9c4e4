"""The web server keeps no database connection per request.

Daphne runs each request's sync code in a thread of its own, so a connection kept open after
its request is never used again. Kept anyway, they pile up: one SQLite file descriptor per
request (until the process runs out), or one Postgres backend per request (until
`max_connections` refuses everyone, the workers and the dispatcher included).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.system import descendants
from tests.e2e.harness import System

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REQUESTS = 120


@pytest.fixture(params=["sqlite", "scale"])
def web(request, tmp_path):
    running = System(tmp_path, profile=request.param)
    try:
        running.setup()
        running.start_web()
        yield running
    finally:
        running.stop()


def _database_files_open(pid: int, database: Path) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith(str(database))
        except FileNotFoundError:
            continue  # closed while we looked
    return count


def _postgres_backends(database: str) -> int:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _connections(web: System) -> int:
    if getattr(web, "pg_db", None):
        return _postgres_backends(web.pg_db)
    root = web.procs["web"].pid  # with WEB_PROCESSES > 1, the daphnes are its children
    pids = [root, *descendants(root)]
    return sum(_database_files_open(pid, web.tmp / "db.sqlite3") for pid in pids)


def test_many_requests_leave_no_connections_behind(web):
    for _ in range(5):
        assert web.api("GET", "/api/scheduler/queue").status_code == 200
    warm = _connections(web)
    for number in range(REQUESTS):
        path = "/api/scheduler/queue" if number % 2 else "/api/scheduler/task/999999"
        assert web.api("GET", path).status_code in (200, 404)
    after = _connections(web)
    # A pool may open a few more under load; a connection per request would add ~120.
    assert after <= warm + 10, (warm, after)
