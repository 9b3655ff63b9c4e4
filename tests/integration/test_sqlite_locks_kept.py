"""Opening one more connection never costs the process's other connections their locks.

Closing any descriptor of a file drops every POSIX lock the process holds on it. If opening
a connection did that, another process closing its last connection would take the database
as unused, checkpoint and delete the WAL under our open connections, and they would read a
frozen copy from then on (seen as the web server answering `pending` for a task that had
long completed).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler


@pytest.fixture
def own_files(django_db_blocker):
    with django_db_blocker.unblock():  # our own database files, not the test database
        yield


def connect(path: Path) -> Any:
    return ConnectionHandler(
        {
            "default": {
                "ENGINE": "safari_auto.sqlite",
                "NAME": str(path),
                "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
            }
        }
    )["default"]


def count(connection: Any) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM t")
        return int(cursor.fetchone()[0])


def insert_from_another_process(path: Path, value: int, stay_open: float = 0.0) -> Any:
    code = (
        "import sqlite3, sys, time\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('INSERT INTO t VALUES (?)', (int(sys.argv[2]),))\n"
        "print('written', flush=True)\n"
        "time.sleep(float(sys.argv[3]))\n"
        "db.close()\n"
    )
    args = [sys.executable, "-c", code, str(path), str(value), str(stay_open)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "written"
    return proc


@pytest.mark.parametrize("new_connections", [1, 3])
def test_a_connection_sees_other_processes_writes_after_more_connections_open(
    tmp_path, own_files, new_connections
):
    path = tmp_path / "db.sqlite3"
    first = connect(path)
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE t (x integer)")
        cursor.execute("INSERT INTO t VALUES (1)")
    assert count(first) == 1
    others = [connect(path) for _ in range(new_connections)]
    for other in others:
        assert count(other) == 1  # opened for real
    # A process that writes and closes its last connection: with our locks intact it
    # cannot take the database as unused, so the WAL stays.
    insert_from_another_process(path, 2).wait(timeout=30)
    assert Path(f"{path}-wal").exists()
    writer = insert_from_another_process(path, 3, stay_open=2.0)
    try:
        deadline = time.monotonic() + 5
        while count(first) != 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count(first) == 3
        assert all(count(other) == 3 for other in others)
    finally:
        writer.wait(timeout=30)
        for connection in (first, *others):
            connection.close()
