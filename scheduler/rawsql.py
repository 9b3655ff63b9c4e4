"""The hot path's SQL, written once: conditional task updates and event inserts.

The runner and the dispatcher make these writes for every task. Building them through the
ORM costs about a millisecond each, several times the statement itself, so they are
composed here from the models' own field definitions (columns, JSON and datetime
adaptation) and sent as plain parameterised SQL. Only quoted identifiers are formatted in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models import Field, JSONField, Model

from scheduler.models import Event, Lane, Task

EVENT_COLUMNS = (
    "created_at",
    "kind",
    "subject",
    "subject_id",
    "task_id",
    "message",
    "data",
    "wakes",
)


@lru_cache(maxsize=256)
def _qmark(sql: str) -> str:
    """Django's `%s` placeholders as sqlite3's `?`, converted once per statement shape."""
    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


class _QmarkCursor:
    def __init__(self, cursor: Any, writer_lock: Any) -> None:
        self._cursor = cursor
        self._lock = writer_lock

    def execute(self, sql: str, params: list[Any]) -> None:
        lock = self._lock
        if lock is None or lock.held or self._cursor.connection.in_transaction:
            self._cursor.execute(_qmark(sql), params)
            return
        lock.acquire()  # a write of its own outside a transaction: queue like the others
        try:
            self._cursor.execute(_qmark(sql), params)
        finally:
            lock.release()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)


@contextmanager
def _cursor() -> Iterator[Any]:
    """A cursor for the hot path. On SQLite, the driver's own cursor: Django's wrapper
    rewrites the placeholders with a regex on every call, which costs more than the
    statement, and on SQLite it would do so while holding the one write lock."""
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy looks it up per use
    if conn.vendor != "sqlite":
        with conn.cursor() as cursor:
            yield cursor
        return
    if conn.connection is None:
        conn.ensure_connection()
    with conn.wrap_database_errors:
        raw = conn.connection.cursor()
        try:
            yield _QmarkCursor(raw, getattr(conn, "writer_lock", None))
        finally:
            raw.close()


@cache
def _field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):  # pragma: no cover - only concrete columns are written
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


@cache
def _column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(str(_field(model, name).column))


@cache
def _plain(model: type[Model], name: str) -> bool:
    """Columns whose str/int/bool/None values go to the driver as they are."""
    return not isinstance(_field(model, name), JSONField)


def _value(model: type[Model], name: str, value: Any, conn: Any = None) -> Any:
    if (value is None or type(value) in (str, int, bool)) and _plain(model, name):
        return value
    return _field(model, name).get_db_prep_save(value, conn or connections[DEFAULT_DB_ALIAS])


@cache
def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def prepare_update(
    task_id: int, *, statuses: Iterable[str], attempt: int | None, values: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """UPDATE one task WHERE it is still in one of `statuses` (and at `attempt`)."""
    wanted = list(statuses)
    sets = ", ".join(f"{_column(Task, name)} = %s" for name in values)
    params = [_value(Task, name, value) for name, value in values.items()]
    where = f"id = %s AND status IN ({', '.join(['%s'] * len(wanted))})"
    params += [task_id, *wanted]
    if attempt is not None:
        where += " AND attempt = %s"
        params.append(attempt)
    return f"UPDATE {_table(Task)} SET {sets} WHERE {where}", params  # noqa: S608


def execute(prepared: tuple[str, list[Any]]) -> int:
    """Run a prepared statement: rows changed."""
    with _cursor() as cursor:
        cursor.execute(*prepared)
        return int(cursor.rowcount)


def insert_events(rows: list[Mapping[str, Any]]) -> dict[int, int]:
    """INSERT many event rows (same columns, each with a task) in one statement:
    {task id: event id}."""
    if not rows:
        return {}
    names = list(rows[0])
    cols = ", ".join(_column(Event, name) for name in names)
    marks = "(" + ", ".join(["%s"] * len(names)) + ")"
    params = [_value(Event, name, row[name]) for row in rows for name in names]
    with _cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(Event)} ({cols}) VALUES "  # noqa: S608
            f"{', '.join([marks] * len(rows))} RETURNING id, task_id",
            params,
        )
        return {int(task_id): int(event_id) for event_id, task_id in cursor.fetchall()}


@cache
def _insert_fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


def insert_names(model: type[Model]) -> list[str]:
    """The attribute names behind `prepare_insert`'s parameters, in order."""
    return [f.attname for f in _insert_fields(model)]


@cache
def _insert_sql(model: type[Model], from_cte: str = "") -> str:
    """INSERT of one row of `model`'s columns, as VALUES, or as a SELECT from a CTE (so the
    row goes in only if the CTE returned one)."""
    fields = _insert_fields(model)
    cols = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    rows = f"SELECT {marks} FROM {from_cte}" if from_cte else f"VALUES ({marks})"  # noqa: S608
    return f"INSERT INTO {_table(model)} ({cols}) {rows} RETURNING id"


def prepare_insert(obj: Model) -> tuple[str, list[Any]]:
    """The INSERT (RETURNING id) of a new model instance, composed before any lock is taken."""
    model = type(obj)
    values = [f.pre_save(obj, add=True) for f in _insert_fields(model)]
    return _insert_sql(model), _insert_params(model, values)


def prepare_insert_values(model: type[Model], values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """`prepare_insert` from attribute values (every insert column named), without building
    and pre-saving a model instance."""
    ordered = [values[f.attname] for f in _insert_fields(model)]
    return _insert_sql(model), _insert_params(model, ordered)


def _insert_params(model: type[Model], values: list[Any]) -> list[Any]:
    conn = connections[DEFAULT_DB_ALIAS]  # the wrapper itself: the proxy looks it up per use
    fields = _insert_fields(model)
    return [_value(model, f.name, v, conn) for f, v in zip(fields, values, strict=True)]


def insert_prepared(prepared: tuple[str, list[Any]]) -> int:
    with _cursor() as cursor:
        cursor.execute(*prepared)
        row = cursor.fetchone()
    return int(row[0])


def ensure_lane(key: str, now: Any) -> None:
    """Insert-or-ignore one lane row."""
    with _cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_table(Lane)} ({_column(Lane, 'key')}, {_column(Lane, 'created_at')}) "  # noqa: S608
            "VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [key, _value(Lane, "created_at", now)],
        )


def release_dependents(task_id: int) -> int:
    """One dependency fewer for every task that waited on this one."""
    through = Task.dependencies.through
    table = _table(through)
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table(Task)} SET pending_deps = pending_deps - 1 "  # noqa: S608
            f"WHERE pending_deps > 0 AND id IN "
            f"(SELECT from_task_id FROM {table} WHERE to_task_id = %s)",
            [task_id],
        )
        return int(cursor.rowcount)


def _claim_update(task_ids: list[int], *, by: str, now: Any) -> tuple[str, list[Any]]:
    """pending → scheduled for the ready ones among `task_ids`: next attempt, Safari held if
    the task needs it. RETURNING id, attempt, type, safari_host."""
    marks = ", ".join(["%s"] * len(task_ids))
    sql = (
        f"UPDATE {_table(Task)} SET status = %s, claimed_by = %s, claimed_at = %s, "  # noqa: S608
        "attempt = attempt + 1, wait_reason = '', holds_safari = req_safari_exclusive "
        f"WHERE id IN ({marks}) AND status = %s AND pending_deps = 0 "
        "RETURNING id, attempt, type, safari_host"
    )
    return sql, ["scheduled", by, _value(Task, "claimed_at", now), *task_ids, "pending"]


def claim_tasks(task_ids: list[int], *, by: str, now: Any) -> list[tuple[int, int, str, str]]:
    """Claim many tasks in one statement: [(id, attempt, type, safari_host)] of those still
    ready. The Safari index may refuse the whole statement (IntegrityError)."""
    if not task_ids:
        return []
    with _cursor() as cursor:
        cursor.execute(*_claim_update(task_ids, by=by, now=now))
        rows = cursor.fetchall()
    return [(int(i), int(a), str(t), str(h)) for i, a, t, h in rows]


def claim_tasks_with_events(
    task_ids: list[int], *, by: str, now: Any
) -> list[tuple[int, int, str, str, int]]:
    """PostgreSQL: `claim_tasks` and their `task.claimed` events as one statement:
    [(id, attempt, type, safari_host, event id)]. The Safari index may refuse it all."""
    if not task_ids:
        return []
    ev = {name: _column(Event, name) for name in EVENT_COLUMNS}
    claim, claim_params = _claim_update(task_ids, by=by, now=now)
    sql = (
        f"WITH c AS ({claim}), "  # noqa: S608
        f"e AS (INSERT INTO {_table(Event)} ({', '.join(ev.values())}) "
        "SELECT %s, %s, 'task', CAST(c.id AS TEXT), c.id, '', "
        "jsonb_build_object('attempt', c.attempt, 'by', CAST(%s AS TEXT)), false FROM c "
        "RETURNING id, task_id) "
        "SELECT c.id, c.attempt, c.type, c.safari_host, e.id FROM c JOIN e ON e.task_id = c.id"
    )
    params = [*claim_params, claim_params[2], "task.claimed", by]
    with _cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [(int(i), int(a), str(t), str(h), int(e)) for i, a, t, h, e in rows]


@cache
def _task_columns() -> tuple[tuple[str, ...], tuple[str, ...], tuple[Any, ...]]:
    """Every concrete Task column: (quoted names, attnames, converters per column)."""
    fields = [f for f in Task._meta.concrete_fields]
    quoted = tuple(connection.ops.quote_name(str(f.column)) for f in fields)
    attnames = tuple(f.attname for f in fields)
    converters = tuple(
        tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        for col in (f.get_col(Task._meta.db_table) for f in fields)
    )
    return quoted, attnames, converters


def prepare_start(task_id: int, *, attempt: int, now: Any) -> tuple[str, list[Any]]:
    """scheduled → running at `attempt` (no RETURNING: the caller adds what it needs)."""
    moment = _value(Task, "started_at", now)
    return (
        f"UPDATE {_table(Task)} SET status = %s, started_at = %s, heartbeat_at = %s "  # noqa: S608
        "WHERE id = %s AND status = %s AND attempt = %s",
        ["running", moment, moment, task_id, "scheduled", attempt],
    )


def start_task(task_id: int, *, attempt: int, now: Any) -> tuple[Any, ...] | None:
    """scheduled → running at `attempt`, returning the whole row (one statement); turn it
    into a Task with `task_from_row` once the transaction is over."""
    quoted, _, _ = _task_columns()
    sql, params = prepare_start(task_id, attempt=attempt, now=now)
    with _cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {', '.join(quoted)}", params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def one_round_trip() -> bool:
    """Whether `update_with_event` is available: PostgreSQL runs data-modifying CTEs. Over
    a network every statement is a round trip; SQLite runs in-process and needs no help."""
    return connections[DEFAULT_DB_ALIAS].vendor == "postgresql"


def update_with_event(
    update: tuple[str, list[Any]],
    event_params: list[Any],
    *,
    whole_row: bool = False,
    release_dependents: bool = False,
) -> tuple[int, tuple[Any, ...]] | None:
    """PostgreSQL: a conditional task UPDATE, its event row and, on completion, one
    dependency fewer for each dependent, as one statement (atomic by itself, one round
    trip). Returns (event id, returned task columns), or None when the update matched no row.
    """
    quoted, _, _ = _task_columns()
    returning = ", ".join(quoted) if whole_row else "id"
    through = Task.dependencies.through
    parts = [
        f"t AS ({update[0]} RETURNING {returning})",
        f"e AS ({_insert_sql(Event, 't')})",
    ]
    if release_dependents:
        parts.append(
            f"d AS (UPDATE {_table(Task)} SET pending_deps = pending_deps - 1 "  # noqa: S608
            f"WHERE pending_deps > 0 AND id IN (SELECT from_task_id FROM {_table(through)} "
            "WHERE to_task_id IN (SELECT id FROM t)))"
        )
    sql = f"WITH {', '.join(parts)} SELECT (SELECT id FROM e), t.* FROM t"  # noqa: S608
    with _cursor() as cursor:
        cursor.execute(sql, [*update[1], *event_params])
        row = cursor.fetchone()
    return (int(row[0]), tuple(row[1:])) if row is not None else None


def insert_task_with_event(
    lane: str, now: Any, task: tuple[str, list[Any]], event_params: list[Any]
) -> tuple[int, int]:
    """PostgreSQL: the lane (if new), a task and its `task.created` event as one statement.
    The event's task id and subject come from the inserted row. Returns (task id, event id).
    """
    names = insert_names(Event)
    from_row = {"task_id": "t.id", "subject_id": "CAST(t.id AS TEXT)"}
    select = ", ".join(from_row.get(name, "%s") for name in names)
    params = [
        value for name, value in zip(names, event_params, strict=True) if name not in from_row
    ]
    cols = ", ".join(_column(Event, f.name) for f in _insert_fields(Event))
    sql = (
        f"WITH l AS (INSERT INTO {_table(Lane)} ({_column(Lane, 'key')}, "  # noqa: S608
        f"{_column(Lane, 'created_at')}) VALUES (%s, %s) ON CONFLICT DO NOTHING), "
        f"t AS ({task[0]}), "
        f"e AS (INSERT INTO {_table(Event)} ({cols}) SELECT {select} FROM t RETURNING id) "
        "SELECT t.id, (SELECT id FROM e) FROM t"
    )
    with _cursor() as cursor:
        cursor.execute(sql, [lane, _value(Lane, "created_at", now), *task[1], *params])
        row = cursor.fetchone()
    return int(row[0]), int(row[1])


def task_from_row(row: tuple[Any, ...]) -> Task:
    _, attnames, converters = _task_columns()
    values = []
    for value, convs in zip(row, converters, strict=True):
        for convert in convs:
            value = convert(value, None, connection)
        values.append(value)
    return Task.from_db(connection.alias, list(attnames), values)
