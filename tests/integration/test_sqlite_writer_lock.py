"""The SQLite backend's writer lock: writers queue on a flock instead of SQLite's sleeps."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db.utils import ConnectionHandler

from safari_auto.sqlite.base import WriterLock


def connect(path: Path | str) -> Any:
    """A connection of our backend of its own (not the test database's)."""
    return ConnectionHandler(
        {
            "default": {
                "ENGINE": "safari_auto.sqlite",
                "NAME": str(path),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 5},
            }
        }
    )["default"]


@contextmanager
def atomic(conn: Any) -> Iterator[None]:
    """What `transaction.atomic` does on SQLite, for a connection outside `connections`."""
    conn.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
    finally:
        conn.set_autocommit(True)


@pytest.fixture(autouse=True)
def _own_connections(django_db_blocker: Any) -> Iterator[None]:
    with django_db_blocker.unblock():  # these connections are our own files, not the test DB
        yield


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "lock.sqlite3"
    conn = connect(path)
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)")
    conn.close()
    return path


def test_a_second_writer_waits_for_the_first_to_commit(database: Path) -> None:
    order: list[str] = []
    inside = threading.Event()

    def write_later() -> None:
        conn = connect(database)
        inside.wait(5)
        with atomic(conn):  # queues on the lock, then writes
            conn.cursor().execute("INSERT INTO t (who) VALUES ('second')")
            order.append("second")
        conn.close()

    thread = threading.Thread(target=write_later)
    thread.start()
    conn = connect(database)
    with atomic(conn):
        conn.cursor().execute("INSERT INTO t (who) VALUES ('first')")
        assert conn.writer_lock is not None
        assert conn.writer_lock.held
        inside.set()
        time.sleep(0.2)  # the other writer is blocked all this time
        order.append("first")
    assert not conn.writer_lock.held
    thread.join(5)
    assert order == ["first", "second"]
    with conn.cursor() as cursor:
        cursor.execute("SELECT who FROM t ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == ["first", "second"]
    conn.close()


def test_rollback_and_autocommit_writes_release_the_lock(database: Path) -> None:
    conn = connect(database)

    def insert_then_fail() -> None:
        with atomic(conn):
            conn.cursor().execute("INSERT INTO t (who) VALUES ('gone')")
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        insert_then_fail()
    assert conn.writer_lock is not None
    assert not conn.writer_lock.held
    with conn.cursor() as cursor:  # a write outside a transaction takes and gives it back
        cursor.execute("INSERT INTO t (who) VALUES ('kept')")
        assert not conn.writer_lock.held
        cursor.execute("SELECT who FROM t")
        assert [row[0] for row in cursor.fetchall()] == ["kept"]
    other = WriterLock(f"{database}-writer.lock")
    other.acquire()  # nobody holds it now
    other.close()
    conn.close()
    assert conn.writer_lock is None


def test_an_in_memory_database_has_no_lock_file() -> None:
    conn = connect(":memory:")
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert conn.writer_lock is None
