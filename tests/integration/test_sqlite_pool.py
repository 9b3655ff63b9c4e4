"""The SQLite backend's pool for the web process: a request's connection is handed to the next
request (another thread) instead of closed, only when clean, and still sees every write."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from safari_auto.sqlite import base


def connect(path: Path, pool: int = 2) -> Any:
    """A fresh wrapper, as each request's thread gets under daphne."""
    return ConnectionHandler(
        {
            "default": {
                "ENGINE": "safari_auto.sqlite",
                "NAME": str(path),
                "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "pool": pool},
            }
        }
    )["default"]


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():  # our own database files, not the test database
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "pool.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE t (v INTEGER)")
    db.close()
    return path


def in_a_thread(fn: Any) -> Any:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


def request(path: Path, sql: str = "SELECT count(*) FROM t") -> tuple[Any, int]:
    """One 'request' in a thread of its own: its sqlite3 connection and what it read."""

    def run() -> tuple[Any, int]:
        conn = connect(path)
        with conn.cursor() as cursor:
            cursor.execute(sql)
            row = cursor.fetchone()
        raw = conn.connection
        conn.close()
        return raw, row[0] if row else 0

    result: tuple[Any, int] = in_a_thread(run)
    return result


def test_the_next_request_gets_the_connection_the_last_one_closed(database):
    first, _ = request(database)
    second, _ = request(database)
    assert second is first
    first.execute("SELECT 1")  # still open


def test_a_pooled_connection_reads_what_another_process_wrote_since(database):
    request(database)
    outside = sqlite3.connect(database, isolation_level=None)
    outside.execute("INSERT INTO t VALUES (1)")
    outside.close()
    _, seen = request(database)
    assert seen == 1


def test_a_connection_closed_inside_a_transaction_is_closed_not_pooled(database):
    def run() -> Any:
        conn = connect(database)
        conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (2)")
        raw = conn.connection
        conn.close()
        return raw

    raw = in_a_thread(run)
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")  # closed, its write rolled back
    reused, seen = request(database)
    assert reused is not raw
    assert seen == 0


def test_a_pooled_connection_holds_no_writer_lock(database):
    def run() -> Any:
        conn = connect(database)
        with conn.cursor() as cursor:
            cursor.execute("INSERT INTO t VALUES (3)")
        lock = conn.writer_lock
        conn.close()
        return lock

    lock = in_a_thread(run)
    assert lock is not None
    assert lock.held is False
    other = base.WriterLock(f"{database}-writer.lock")
    try:
        other.acquire()  # would wait for ever if the pooled connection held it
    finally:
        other.close()


def test_the_pool_keeps_at_most_its_size_and_closes_the_rest(database):
    conns = [connect(database, pool=1) for _ in range(2)]
    raws = []
    for conn in conns:
        conn.ensure_connection()
        raws.append(conn.connection)
    for conn in conns:
        conn.close()
    kept = base.pool_for(str(database), 1).idle
    assert [raw for raw, _ in kept] == [raws[0]]
    with pytest.raises(sqlite3.ProgrammingError):
        raws[1].execute("SELECT 1")


def test_without_the_option_a_closed_connection_is_closed(database):
    conn = connect(database, pool=0)
    conn.ensure_connection()
    raw = conn.connection
    conn.close()
    with pytest.raises(sqlite3.ProgrammingError):
        raw.execute("SELECT 1")
