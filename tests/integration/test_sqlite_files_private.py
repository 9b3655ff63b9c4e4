"""The SQLite database, its WAL and shared memory, and its folder are the owner's only."""

from __future__ import annotations

import os
import stat

import pytest
from django.db.utils import ConnectionHandler


@pytest.fixture
def usual_umask(django_db_blocker):
    old = os.umask(0o022)  # what a shell gives: files 0644, folders 0755
    with django_db_blocker.unblock():  # our own database files, not the test database
        yield
    os.umask(old)


def _open(path):
    handler = ConnectionHandler(
        {
            "default": {
                "ENGINE": "safari_auto.sqlite",
                "NAME": str(path),
                "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
            }
        }
    )
    connection = handler["default"]
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS t (x integer)")
        cursor.execute("INSERT INTO t VALUES (1)")
    return connection


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_fresh_database_and_its_folder_are_created_owner_only(tmp_path, usual_umask):
    path = tmp_path / "data" / "db.sqlite3"
    connection = _open(path)
    try:
        assert _mode(path.parent) == 0o700
        for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-writer.lock"):
            assert _mode(path.parent / name) == 0o600, name
    finally:
        connection.close()


def test_an_existing_world_readable_database_is_tightened(tmp_path, usual_umask):
    path = tmp_path / "db.sqlite3"
    _open(path).close()
    for name in (path, tmp_path / "db.sqlite3-wal"):
        if name.exists():
            os.chmod(name, 0o644)
    connection = _open(path)
    try:
        assert _mode(path) == 0o600
        assert _mode(tmp_path / "db.sqlite3-wal") == 0o600
    finally:
        connection.close()
