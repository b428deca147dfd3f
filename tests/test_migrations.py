"""Does the migrated schema match the models, on SQLite and on PostgreSQL?"""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from compliance.db import make_engine
from compliance.migrations import runner
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL

pytestmark = pytest.mark.db


@pytest.fixture
def empty_engine(tmp_path):
    """An engine on an empty database: a new SQLite file, or a fresh PostgreSQL schema."""
    if not ON_POSTGRES:
        engine = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield engine
        engine.dispose()
        return
    engine = make_engine(TEST_DATABASE_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS migration_check CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA migration_check")
    engine.dispose()
    scoped = make_engine(TEST_DATABASE_URL + "?options=-csearch_path%3Dmigration_check")
    yield scoped
    scoped.dispose()
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS migration_check CASCADE")
    engine.dispose()


def test_migrations_produce_exactly_the_models_schema(empty_engine):
    """After `flask db upgrade`, would autogenerate find anything left to migrate?"""
    runner.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_migrations_downgrade_to_nothing_and_back(empty_engine):
    """Can an operator roll the schema back and forward again?"""
    runner.upgrade(empty_engine)
    runner.downgrade(empty_engine, "base")
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is None
    runner.upgrade(empty_engine)


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET action = 'rewritten'",
    "DELETE FROM audit_event",
    "UPDATE audit_seal SET event_hash = 'rewritten'",
    "DELETE FROM audit_seal",
])
def test_migrated_database_refuses_to_rewrite_the_audit_log(empty_engine, statement):
    """Does the database itself refuse UPDATE and DELETE on recorded events and seals?"""
    runner.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO audit_event (occurred_at, actor_role, action, object_type, object_id,"
            " summary, request_id, address) VALUES (CURRENT_TIMESTAMP, 'system', 'test',"
            " 'system', '', '{}', '', '')"))
        connection.execute(text(
            "INSERT INTO audit_seal (event_id, prev_hash, event_hash, sealed_at)"
            " SELECT id, 'prev', 'hash', CURRENT_TIMESTAMP FROM audit_event"))
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
        connection.execute(text(statement))
