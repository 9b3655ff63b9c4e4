"""The hot path's statements, composed from the models' own field definitions.

Building these writes through the ORM costs about a millisecond each, several times the
statement itself, so they are composed here from the models' columns (names, JSON and
datetime adaptation) and sent as parameterised SQL through Django's cursor, where
`CaptureQueriesContext` and `connection.execute_wrapper` see them. Only quoted identifiers
are formatted in; every value, status values included, is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, JSONField, Model

from safari_auto.sqlite.base import qmark
from scheduler.models import Lane, Task, TaskStatus

S = TaskStatus
Prepared = tuple[str, list[Any]]


def execute(sql: str, params: list[Any]) -> Any:
    """Run one statement: (rows changed, rows returned).

    Through Django's cursor whenever anything watches queries (`CaptureQueriesContext`,
    DEBUG, an `execute_wrapper`) and always on Postgres. On SQLite with nobody watching, on
    the driver's cursor: Django's wrapper costs 30-40 µs a statement against about 10, paid
    under the one write lock, and creating a task runs three of them."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor == "sqlite" and not (conn.queries_logged or conn.execute_wrappers):
        return _execute_on_driver(conn, sql, params)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
        return int(cursor.rowcount), rows


def _execute_on_driver(conn: Any, sql: str, params: list[Any]) -> Any:
    """What our SQLite backend's cursor does (placeholders, the writer lock, Django's error
    classes), without the wrapper's bookkeeping."""
    if conn.connection is None:
        conn.ensure_connection()
    lock = getattr(conn, "writer_lock", None)
    with conn.wrap_database_errors:
        raw = conn.connection.cursor()
        try:
            if lock is None or lock.held or conn.connection.in_transaction:
                raw.execute(qmark(sql), params)
            else:  # a statement of its own outside a transaction: queue like the others
                lock.acquire()
                try:
                    raw.execute(qmark(sql), params)
                finally:
                    lock.release()
            rows = raw.fetchall() if raw.description else []
            return int(raw.rowcount), rows
        finally:
            raw.close()


@cache
def field(model: type[Model], name: str) -> Field[Any, Any]:
    found = model._meta.get_field(name)
    if not isinstance(found, Field):  # pragma: no cover - only concrete columns are written
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return found


@cache
def column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(str(field(model, name).column))


@cache
def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _plain(model: type[Model], name: str) -> bool:
    """Columns whose str/int/bool/None values go to the driver as they are."""
    return not isinstance(field(model, name), JSONField)


def value(model: type[Model], name: str, given: Any) -> Any:
    """A Python value as the column's database value (JSON and datetimes adapted)."""
    if (given is None or type(given) in (str, int, bool)) and _plain(model, name):
        return given
    return field(model, name).get_db_prep_save(given, connections[DEFAULT_DB_ALIAS])


@cache
def insert_fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    """The columns an INSERT of `model` names: every concrete one but the primary key."""
    return tuple(f for f in model._meta.concrete_fields if not f.primary_key)


def insert_params(model: type[Model], values: Mapping[str, Any]) -> list[Any]:
    """`values` (by attribute name, every insert column named) as the INSERT's parameters."""
    return [value(model, f.name, values[f.attname]) for f in insert_fields(model)]


def insert_select(
    model: type[Model], values: Mapping[str, Any], source: str, exprs: Mapping[str, Prepared]
) -> Prepared:
    """INSERT of `model` rows SELECTed FROM `source`: each column a parameter from `values`
    or, where `exprs` names it, an SQL expression over `source` (with its own parameters)."""
    select, params = [], []
    for f in insert_fields(model):
        if f.attname in exprs:
            sql, more = exprs[f.attname]
            select.append(sql)
            params += more
        else:
            select.append("%s")
            params.append(value(model, f.name, values[f.attname]))
    sql = f"INSERT INTO {table(model)} ({insert_columns(model)}) SELECT {', '.join(select)} FROM {source}"  # noqa: S608, E501
    return sql, params


@cache
def insert_columns(model: type[Model]) -> str:
    return ", ".join(connection.ops.quote_name(str(f.column)) for f in insert_fields(model))


@cache
def insert_values(model: type[Model], rows: int = 1) -> str:
    """INSERT of `rows` rows of `model`'s columns as VALUES (no RETURNING)."""
    marks = "(" + ", ".join(["%s"] * len(insert_fields(model))) + ")"
    return (
        f"INSERT INTO {table(model)} ({insert_columns(model)}) VALUES {', '.join([marks] * rows)}"  # noqa: S608
    )


def lane_insert(key: str, now: Any) -> Prepared:
    """Insert-or-ignore one lane row."""
    return (
        f"INSERT INTO {table(Lane)} ({column(Lane, 'key')}, {column(Lane, 'created_at')}) "  # noqa: S608
        "VALUES (%s, %s) ON CONFLICT DO NOTHING",
        [key, value(Lane, "created_at", now)],
    )


def task_update(
    task_id: int,
    *,
    statuses: Iterable[str],
    attempt: int | None,
    values: Mapping[str, Any],
    exprs: Mapping[str, Prepared] | None = None,
) -> Prepared:
    """UPDATE one task WHERE it is still in one of `statuses` (and at `attempt`): each column
    of `values` set to a parameter, each of `exprs` to an SQL expression (with its own)."""
    wanted = [str(status) for status in statuses]
    sets = ", ".join(
        [f"{column(Task, name)} = %s" for name in values]
        + [f"{column(Task, name)} = {sql}" for name, (sql, _) in (exprs or {}).items()]
    )
    params = [value(Task, name, given) for name, given in values.items()]
    params += [param for _, more in (exprs or {}).values() for param in more]
    where = f"id = %s AND status IN ({', '.join(['%s'] * len(wanted))})"
    params += [task_id, *wanted]
    if attempt is not None:
        where += " AND attempt = %s"
        params.append(attempt)
    return f"UPDATE {table(Task)} SET {sets} WHERE {where}", params  # noqa: S608


def start_update(task_id: int, *, attempt: int, now: Any, pid: int | None = None) -> Prepared:
    """scheduled → running at `attempt`; with `pid`, the worker that runs it noted in the
    result (`{"pid": …}` merged into what an earlier attempt left there) by the same write."""
    exprs = {"result": result_with("pid", pid)} if pid is not None else None
    return task_update(
        task_id,
        statuses=[S.SCHEDULED],
        attempt=attempt,
        values={"status": S.RUNNING, "started_at": now, "heartbeat_at": now},
        exprs=exprs,
    )


def result_with(key: str, number: int) -> Prepared:
    """The task's result with `key` set to `number`: an object (or no result yet) gets the
    key, any other JSON value is left as it is. The one JSON merge the hot path does in SQL,
    so it is spelled per database."""
    result = column(Task, "result")
    if connection.vendor == "postgresql":
        merged = f"COALESCE({result}, '{{}}'::jsonb) || jsonb_build_object(%s::text, %s::integer)"
        kind = f"jsonb_typeof({result})"
    else:
        merged = f"json_set(COALESCE({result}, '{{}}'), %s, %s)"
        kind = f"json_type({result})"
        key = f"$.{key}"
    sql = f"CASE WHEN {result} IS NULL OR {kind} = 'object' THEN {merged} ELSE {result} END"
    return sql, [key, number]


def claim_update(
    task_ids: list[int], *, by: str, now: Any, hosts: Mapping[int, str] | None = None
) -> Prepared:
    """pending → scheduled for the ready ones among `task_ids`: next attempt, Safari held if
    the task needs it, and the host picked for each unpinned one in `hosts` (so the database's
    Safari rule sees the real host). RETURNING id, attempt, type, safari_host."""
    marks = ", ".join(["%s"] * len(task_ids))
    picked = {task_id: host for task_id, host in (hosts or {}).items() if task_id in task_ids}
    host_set = ""
    host_params: list[Any] = []
    if picked:
        host_set = ", safari_host = CASE id " + "WHEN %s THEN %s " * len(picked)
        host_set += "ELSE safari_host END"
        host_params = [item for pair in picked.items() for item in pair]
    sql = (
        f"UPDATE {table(Task)} SET status = %s, claimed_by = %s, claimed_at = %s, "  # noqa: S608
        f"attempt = attempt + 1, wait_reason = '', holds_safari = req_safari_exclusive{host_set} "
        f"WHERE id IN ({marks}) AND status = %s AND pending_deps = 0 "
        "RETURNING id, attempt, type, safari_host"
    )
    claimed_at = value(Task, "claimed_at", now)
    return sql, [S.SCHEDULED.value, by, claimed_at, *host_params, *task_ids, S.PENDING.value]


def release_dependents(ids: Prepared) -> Prepared:
    """One dependency fewer for every task that waited on the tasks `ids` selects."""
    through = table(Task.dependencies.through)
    return (
        f"UPDATE {table(Task)} SET pending_deps = pending_deps - 1 "  # noqa: S608
        f"WHERE pending_deps > 0 AND id IN "
        f"(SELECT from_task_id FROM {through} WHERE to_task_id IN ({ids[0]}))",
        list(ids[1]),
    )


@cache
def task_columns() -> tuple[str, ...]:
    """Every concrete Task column, quoted, in the model's order (for RETURNING)."""
    return tuple(connection.ops.quote_name(str(f.column)) for f in Task._meta.concrete_fields)


@cache
def _task_converters() -> tuple[tuple[str, ...], tuple[Any, ...]]:
    fields = list(Task._meta.concrete_fields)
    converters = tuple(
        tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        for col in (f.get_col(Task._meta.db_table) for f in fields)
    )
    return tuple(f.attname for f in fields), converters


def task_from_row(row: tuple[Any, ...]) -> Task:
    """A Task from a row of `task_columns()`, converted as the ORM converts a fetched row."""
    attnames, converters = _task_converters()
    values = []
    for raw, convs in zip(row, converters, strict=True):
        for convert in convs:
            raw = convert(raw, None, connection)
        values.append(raw)
    return Task.from_db(DEFAULT_DB_ALIAS, list(attnames), values)
