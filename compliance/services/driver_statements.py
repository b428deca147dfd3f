"""Statements that run on every API call, sent through the driver's cursor.

Three statements run for each RMA request: the key lookup, the course read and the
decision's writes. Through `Connection.execute`, SQLAlchemy and the driver rebuild for
each call what never changes for a statement of fixed shape: the cursor's column
descriptions, the result's metadata, a wrapper per row. For the course read, with its
thirty-odd columns, that costs three times the driver's own work. A `DriverStatement`
does it once per dialect: it compiles the Core statement and looks up SQLAlchemy's own
bind and result processors for its columns, so values convert exactly as they do through
`Connection.execute`; each call then runs the SQL on the cursor of the connection's
transaction. Column defaults computed in Python are not: a statement that would need one
is refused when first run. A driver error comes back as SQLAlchemy's exception (an
`IntegrityError` for a unique violation, an `OperationalError` for a serialization
failure), so retries and error pages treat it as they treat any other.

On psycopg the SQL goes to a raw cursor, already encoded, with `$1` placeholders: a query
written with `%(name)s` placeholders is parsed on each call to find them (psycopg caches
the result only for queries under 4 kB, which the course read is not). Each statement
keeps its cursor on the connection (in the pool entry's `info`, which the pool clears
with the connection): a psycopg cursor that runs the query it ran last keeps the loaders
and dumpers it chose for it, which a new cursor would look up again for every column.

A statement declared `standalone` is a whole unit of work by itself: a read that shares
no snapshot with what follows, or a write that carries everything that must commit with
it. On PostgreSQL, when its connection has no transaction open yet, it runs as its own
transaction (autocommit), which spares the BEGIN and COMMIT round trips; anything that
ran before it on the connection opened a transaction, which it then joins as any other
statement does. Under READ COMMITTED, each statement of a transaction reads its own
snapshot anyway, so a read gives the same rows either way; a connection set to a stricter
level, or already in autocommit, runs it as it runs any other.

What the engine's `before_cursor_execute` listeners see, they do not see here.
"""

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from psycopg import IsolationLevel, RawCursor
from psycopg.pq import TransactionStatus
from sqlalchemy import BindParameter, Connection, Dialect, Executable, Table, bindparam
from sqlalchemy.exc import DBAPIError

_KEPT_CURSORS = "driver_statements.cursors"  # pool entry `info` key: {statement: cursor}


@dataclass(frozen=True)
class _Compiled:
    sql: str | bytes
    positions: tuple[str, ...] | None  # the order of the parameters, for a positional driver
    compiled: Any
    binds: dict[str, Callable]
    names: tuple[str, ...]
    results: tuple[tuple[int, Callable], ...]
    cursor: Callable  # the DBAPI connection's cursor of the kind the SQL is written for
    standalone: bool  # may run as its own transaction (psycopg only)
    kept: bool  # its cursor is kept on the connection between calls (psycopg only)


class DriverStatement:
    """A Core statement of fixed shape, compiled once per dialect, run on the cursor."""

    def __init__(self, statement: Executable, *, standalone: bool = False) -> None:
        self._statement = statement
        self._standalone = standalone
        self._by_dialect: dict[str, _Compiled] = {}

    def rows(self, connection: Connection, params: dict) -> list[dict]:
        """Run the statement in the connection's transaction (or, standalone, as its own);
        its rows as dicts by column."""
        compiled = self._compiled_for(connection.dialect)
        values = compiled.compiled.construct_params(params)
        for name, processor in compiled.binds.items():
            values[name] = processor(values[name])
        if compiled.positions is not None:
            values = tuple(values[name] for name in compiled.positions)
        driver = connection.connection.dbapi_connection
        alone = compiled.standalone and _may_run_alone(driver)
        cursor = self._cursor(connection, compiled)
        try:
            if alone:
                driver.autocommit = True
            cursor.execute(compiled.sql, values)
            found = cursor.fetchall() if compiled.names else []
        except connection.dialect.loaded_dbapi.Error as exc:
            raise _translated(connection, compiled.sql, values, exc) from exc
        finally:
            if not compiled.kept:
                cursor.close()
            if alone and not driver.closed:
                driver.autocommit = False
        return [_converted(row, compiled) for row in found]

    def _cursor(self, connection: Connection, compiled: _Compiled):
        """This statement's kept cursor on the connection (a new one if it has none yet, or
        one the connection closed); a cursor of its own for each call on other drivers."""
        driver = connection.connection.dbapi_connection
        if not compiled.kept:
            return compiled.cursor(driver)
        kept = connection.connection.info.setdefault(_KEPT_CURSORS, {})
        cursor = kept.get(self)
        if cursor is None or cursor.closed or cursor.connection is not driver:
            cursor = kept[self] = compiled.cursor(driver)
        return cursor

    def first(self, connection: Connection, params: dict) -> dict | None:
        """The first row, or None."""
        found = self.rows(connection, params)
        return found[0] if found else None

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        if (known := self._by_dialect.get(dialect.name)) is not None:
            return known
        raw = dialect.driver == "psycopg"
        compiled = self._statement.compile(dialect=_dollar_placeholders(dialect) if raw
                                           else dialect)
        if defaulted := [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]:
            raise ValueError(f"bind a value for {', '.join(defaulted)}: column defaults are "
                             "computed by Connection.execute, not here")
        binds = {name: processor for name, bind in compiled.binds.items()
                 if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))}
        columns = list(self._statement.exported_columns)
        results = tuple((index, processor) for index, column in enumerate(columns)
                        if (processor := column.type.dialect_impl(dialect)
                            .result_processor(dialect, None)))
        made = _Compiled(str(compiled).encode() if raw else str(compiled),
                         tuple(compiled.positiontup) if compiled.positional else None,
                         compiled, binds, tuple(column.key for column in columns), results,
                         RawCursor if raw else _plain_cursor, self._standalone and raw, raw)
        self._by_dialect[dialect.name] = made
        return made


def bound(table: Table, prefix: str = "", generated: tuple[str, ...] = ("id",)
          ) -> dict[str, BindParameter]:
    """Every column but the generated ones as a bind parameter named `prefix` + name: the
    values of an insert that leaves no column to a default."""
    return {c.name: bindparam(prefix + c.name, type_=c.type) for c in table.c
            if c.name not in generated}


def _may_run_alone(driver) -> bool:
    """No transaction open, not in autocommit already (whose setting is then left alone),
    and READ COMMITTED (a stricter level would be silently skipped)."""
    return (not driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
            and driver.isolation_level in (None, IsolationLevel.READ_COMMITTED))


def _dollar_placeholders(dialect: Dialect) -> Dialect:
    """The dialect, compiling `$1` placeholders (as it does for asyncpg) for a raw cursor."""
    dollar = copy.copy(dialect)
    dollar.paramstyle, dollar.positional = "numeric_dollar", True
    return dollar


def _plain_cursor(dbapi_connection):
    return dbapi_connection.cursor()


def _converted(row: tuple, compiled: _Compiled) -> dict:
    if compiled.results:
        row = list(row)
        for index, processor in compiled.results:
            row[index] = processor(row[index])
    return dict(zip(compiled.names, row, strict=True))


def _translated(connection: Connection, sql: str, values, exc: Exception) -> DBAPIError:
    """The driver's error as SQLAlchemy's; a lost connection is dropped from the pool."""
    dialect = connection.dialect
    if dialect.is_disconnect(exc, connection.connection.dbapi_connection, None):
        connection.invalidate(exc)
    return DBAPIError.instance(sql, values, exc, dialect.loaded_dbapi.Error, dialect=dialect)
