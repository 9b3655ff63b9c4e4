"""SQLite, with writers handing the write lock over without sleeping.

SQLite lets one writer in at a time; the others retry from its busy handler, which sleeps
1, 2, 5, 10, 15, 20, 25 ... ms between tries. With a dispatcher, several workers, the broker
and the web server all writing small transactions, the lock is mostly free while they sleep.
Here every write transaction (and every write statement outside one) first takes an
exclusive `flock` on a file beside the database: the kernel wakes the next writer the moment
the lock is released, and releases it if a process dies. SQLite's own lock and busy timeout
stay underneath for anything that does not go through this backend.

The database holds contacts, conversations and API token digests: its folder is created
0700, and the file, its WAL, shared memory, journal and lock 0600 (SQLite gives the WAL and
shared memory the database file's mode), before SQLite opens it.

Under ASGI (`OPTIONS["pool"]`, set by the settings for the web process) a closed connection
goes back to a small pool of this process instead of closing: daphne runs each request in a
thread of its own, so without it every request would open a connection, run the PRAGMAs and
parse the schema again (about 3 ms of CPU, a seventh of a queue read). Only a connection with
no transaction open and the writer lock released goes back; autocommit is set again when it
is handed out, as for a new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3 import base

WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
COMPANIONS = ("-wal", "-shm", "-journal", "-writer.lock")


def owner_only(path: str) -> None:
    """Create the database's folder (0700) and file (0600) if missing; tighten what exists.

    An existing database file is never opened here: closing any descriptor of a file drops
    every POSIX lock this process holds on it, the locks of SQLite's other connections
    included. A process that lost them lets another one, closing its last connection, take
    the file as unused, checkpoint and delete the WAL under our open connections: they go on
    reading a frozen copy, and what is written after that can be lost. ("How To Corrupt An
    SQLite Database File", 2.2.)"""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=0o700, exist_ok=True)
    # Only a file that does not exist yet is opened (SQLite holds no lock on it): an
    # existing one is tightened below by name.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, *(path + suffix for suffix in COMPANIONS)):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            continue


class WriterLock:
    """An exclusive flock on `<database>-writer.lock`, one open file per connection (so the
    threads of one process exclude each other too)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.held = False

    def acquire(self) -> None:
        if not self.held:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self.release()
        os.close(self.fd)


class Pool:
    """Idle connections (each with its writer lock) of one database file, in this process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: list[tuple[Any, WriterLock]] = []
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def take(self) -> tuple[Any, WriterLock] | None:
        with self.lock:
            return self.idle.pop() if self.idle and self.pid == os.getpid() else None

    def give(self, conn: Any, writer_lock: WriterLock) -> bool:
        """Keep `conn` for the next request; False when the pool is full (close it)."""
        with self.lock:
            if len(self.idle) >= self.size or self.pid != os.getpid():
                return False
            self.idle.append((conn, writer_lock))
            return True


_POOLS: dict[str, Pool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(path: str, size: int) -> Pool:
    with _POOLS_LOCK:
        pool = _POOLS.get(path)
        if pool is None or pool.pid != os.getpid():  # a forked child starts empty
            pool = _POOLS[path] = Pool(size)
        return pool


@lru_cache(maxsize=512)
def qmark(query: str) -> str:
    """Django's `%s` placeholders as sqlite3's `?`, rewritten once per statement shape."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class CursorWrapper(base.SQLiteCursorWrapper):
    writer_lock: WriterLock | None = None

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        """Django's `%s` placeholders as sqlite3's `?`, rewritten once per statement shape:
        the regex on every call costs more than a hot-path statement (and runs under the
        write lock)."""
        if param_names is None:
            return qmark(query)
        return str(super().convert_query(query, param_names=param_names))

    def execute(self, query: str, params: Any = None) -> Any:
        lock = self.writer_lock
        if lock is None or lock.held or not query.lstrip()[:7].upper().startswith(WRITE_VERBS):
            return super().execute(query, params)
        lock.acquire()  # a write statement in autocommit mode: its own transaction
        try:
            return super().execute(query, params)
        finally:
            lock.release()


class DatabaseWrapper(base.DatabaseWrapper):
    writer_lock: WriterLock | None = None
    pool: Pool | None = None

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        size = int(params.pop("pool", 0) or 0)
        if size > 0 and not self.is_in_memory_db():
            self.pool = pool_for(str(self.settings_dict["NAME"]), size)
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        pooled = self.pool.take() if self.pool is not None else None
        if pooled is not None:
            conn, self.writer_lock = pooled
            return conn
        if not self.is_in_memory_db():
            owner_only(str(self.settings_dict["NAME"]))
        conn = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            self.writer_lock = WriterLock(f"{self.settings_dict['NAME']}-writer.lock")
        return conn

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.writer_lock = self.writer_lock
        return cursor

    def _start_transaction_under_autocommit(self) -> None:
        if self.writer_lock is not None:
            self.writer_lock.acquire()
        try:
            if self.queries_logged or self.execute_wrappers:  # seen, as Django runs it
                super()._start_transaction_under_autocommit()  # type: ignore[misc]
            else:  # the BEGIN holds the write lock: no cursor wrapper around it
                mode = getattr(self, "transaction_mode", None)  # IMMEDIATE, in our settings
                begin = f"BEGIN {mode}" if mode else "BEGIN"
                with self.wrap_database_errors:
                    self.connection.execute(begin)
        except BaseException:
            self._release()
            raise

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release()

    def _close(self) -> Any:
        if self._pooled():
            return None
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            if self.writer_lock is not None:
                self.writer_lock.close()
                self.writer_lock = None

    def _pooled(self) -> bool:
        """Hand the connection to the pool if it is clean: no transaction, lock released."""
        conn, lock = self.connection, self.writer_lock
        if self.pool is None or conn is None or lock is None:
            return False
        if self.in_atomic_block or conn.in_transaction:
            return False
        lock.release()
        if not self.pool.give(conn, lock):
            return False
        self.writer_lock = None
        return True

    def _release(self) -> None:
        if self.writer_lock is not None:
            self.writer_lock.release()
