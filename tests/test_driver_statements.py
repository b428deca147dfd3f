"""Does a statement sent through the driver's cursor behave as it does through
`Connection.execute`: the same values back, the same conversions on the way in, the same
exceptions, in the same transaction?"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from compliance.models import AuditEvent, Pharmacy
from compliance.models.types import UTCDateTime
from compliance.services.driver_statements import DriverStatement
from tests.conftest import ON_POSTGRES

_AUDIT = AuditEvent.__table__
_BY_ACTION = select(_AUDIT).where(_AUDIT.c.action == bindparam("action")).order_by(_AUDIT.c.id)
_SINCE = select(_AUDIT.c.id).where(
    _AUDIT.c.occurred_at >= bindparam("since", type_=UTCDateTime))
_ADD = insert(_AUDIT).values(occurred_at=bindparam("at", type_=UTCDateTime),
                             actor_role="system", action=bindparam("action"),
                             object_type="test", object_id="", request_id="", address="",
                             summary=bindparam("summary", type_=_AUDIT.c.summary.type))
AT = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def _add(db, action: str, at: datetime = AT, summary: dict | None = None) -> None:
    db.connection().execute(_ADD, {"at": at, "action": action,
                                   "summary": summary or {"codes": ["A", "B"], "n": 2}})


@pytest.mark.parametrize("statement", [_BY_ACTION, _SINCE])
def test_rows_are_those_connection_execute_gives(db, statement):
    """Instants in UTC, JSON as Python values, every column under its name?"""
    _add(db, "test.one")
    _add(db, "test.one", AT + timedelta(hours=1), {"nested": {"on": "2026-11-23"}})
    params = {"action": "test.one", "since": AT}
    expected = [dict(row._mapping) for row in db.connection().execute(statement, params)]
    assert DriverStatement(statement).rows(db.connection(), params) == expected
    assert len(expected) == 2


def test_values_convert_as_the_column_types_say(db):
    """An aware instant in another zone finds the same rows; a naive one is refused."""
    _add(db, "test.zone")
    found = DriverStatement(_BY_ACTION).first(db.connection(), {"action": "test.zone"})
    assert found["occurred_at"] == AT and found["occurred_at"].tzinfo == UTC
    assert found["summary"] == {"codes": ["A", "B"], "n": 2}
    eastern = AT.astimezone(timezone(timedelta(hours=-5)))
    since = DriverStatement(_SINCE)
    assert [row["id"] for row in since.rows(db.connection(), {"since": eastern})] == \
        [found["id"]]
    assert since.rows(db.connection(), {"since": AT + timedelta(seconds=1)}) == []
    with pytest.raises(ValueError, match="naive"):
        since.rows(db.connection(), {"since": AT.replace(tzinfo=None)})


def test_a_statement_without_rows_returns_none(db):
    add = DriverStatement(_ADD)
    assert add.rows(db.connection(), {"at": AT, "action": "test.add", "summary": {}}) == []
    assert add.first(db.connection(), {"at": AT, "action": "test.add", "summary": {}}) is None
    assert len(DriverStatement(_BY_ACTION).rows(db.connection(), {"action": "test.add"})) == 2


def test_a_statement_that_needs_column_defaults_is_refused(db):
    """Connection.execute fills `object_id` from its column default; here it would be NULL."""
    bare = insert(_AUDIT).values(occurred_at=AT, actor_role="system", action="test.bare",
                                 object_type="test", summary={})
    with pytest.raises(ValueError, match="object_id"):
        DriverStatement(bare).rows(db.connection(), {})


def test_it_runs_in_the_sessions_transaction(db):
    """It sees what the session wrote and has not committed; a rollback takes its rows."""
    _add(db, "test.pending")
    DriverStatement(_ADD).rows(db.connection(), {"at": AT, "action": "test.pending",
                                                 "summary": {}})
    assert len(DriverStatement(_BY_ACTION).rows(db.connection(),
                                                {"action": "test.pending"})) == 2
    db.rollback()
    assert DriverStatement(_BY_ACTION).rows(db.connection(), {"action": "test.pending"}) == []


def test_a_standalone_statement_commits_on_its_own_on_postgresql(db, engine):
    """With no transaction open, does a standalone write commit by itself on PostgreSQL
    (another connection sees it; the session's rollback leaves it), and stay in the
    session's transaction on SQLite?"""
    DriverStatement(_ADD, standalone=True).rows(
        db.connection(), {"at": AT, "action": "test.alone", "summary": {}})
    with engine.connect() as other:
        seen = DriverStatement(_BY_ACTION).rows(other, {"action": "test.alone"})
    db.rollback()
    kept = DriverStatement(_BY_ACTION).rows(db.connection(), {"action": "test.alone"})
    committed = engine.dialect.name == "postgresql"
    assert (len(seen), len(kept)) == ((1, 1) if committed else (0, 0))


def test_a_standalone_statement_joins_a_transaction_already_open(db):
    """After another statement opened the transaction, does a standalone one roll back
    with it?"""
    _add(db, "test.joined")
    DriverStatement(_ADD, standalone=True).rows(
        db.connection(), {"at": AT, "action": "test.joined", "summary": {}})
    db.rollback()
    assert DriverStatement(_BY_ACTION).rows(db.connection(), {"action": "test.joined"}) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="autocommit is psycopg's")
def test_a_connection_already_in_autocommit_stays_so(engine):
    """Is a connection set to AUTOCOMMIT left in it after a standalone statement, so what
    follows still commits on its own?"""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        DriverStatement(_ADD, standalone=True).rows(
            connection, {"at": AT, "action": "test.autocommit", "summary": {}})
        assert connection.connection.dbapi_connection.autocommit
        DriverStatement(_ADD).rows(connection, {"at": AT, "action": "test.autocommit",
                                                "summary": {}})
    with engine.connect() as other:
        assert len(DriverStatement(_BY_ACTION).rows(other, {"action": "test.autocommit"})) == 2


def test_a_driver_error_is_sqlalchemys_and_the_session_recovers(db, factory):
    """A primary key taken twice raises IntegrityError (what the retries catch)."""
    pharmacy = factory.pharmacy()
    db.commit()
    table = Pharmacy.__table__
    copy = insert(table).from_select([c.name for c in table.c],
                                     select(table).where(table.c.id == bindparam("id")))
    with pytest.raises(IntegrityError):
        DriverStatement(copy).rows(db.connection(), {"id": pharmacy.id})
    db.rollback()
    assert DriverStatement(_BY_ACTION).rows(db.connection(), {"action": "none"}) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="the kept cursor is psycopg's")
def test_a_statement_keeps_its_cursor_on_the_connection_until_the_connection_goes(engine):
    """Does a statement run again on a pooled connection reuse its cursor (and still read
    the rows as they are now), and take a new one once the pool replaced the connection?"""
    statement = DriverStatement(_BY_ACTION)
    with engine.connect() as connection:
        _add_on(connection, "test.kept")
        first = statement.rows(connection, {"action": "test.kept"})
        cursor = _kept_cursor(connection, statement)
        _add_on(connection, "test.kept")
        second = statement.rows(connection, {"action": "test.kept"})
        assert _kept_cursor(connection, statement) is cursor
        connection.invalidate()
        connection.rollback()
        third = statement.rows(connection, {"action": "test.kept"})
        assert _kept_cursor(connection, statement) is not cursor
    assert (len(first), len(second), len(third)) == (1, 2, 0)


def _add_on(connection, action: str) -> None:
    connection.execute(_ADD, {"at": AT, "action": action, "summary": {}})


def _kept_cursor(connection, statement):
    return connection.connection.info["driver_statements.cursors"][statement]
