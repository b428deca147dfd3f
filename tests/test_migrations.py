"""Does the migrated schema match the models, on SQLite and on PostgreSQL?"""

from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from compliance.db import make_engine
from compliance.migrations import runner
from compliance.models import Course, PatientProfile, PrescriberProfile, Signature, User
from compliance.services import signed_records
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


def test_signatures_made_before_the_binding_are_bound_at_the_upgrade(empty_engine):
    """Migration 0019 names the record each existing signature is held by, hashes that
    record's content, and only then makes the table append-only."""
    runner.upgrade(empty_engine, "0018")
    signed_at = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    with empty_engine.begin() as connection:
        def add(table, **values) -> int:
            return connection.execute(insert(table).values(**values)).inserted_primary_key[0]

        doctor = add(User.__table__, email="dr@example.com", name="Dr A", role="prescriber",
                     is_active=True, created_at=signed_at)
        prescriber = add(PrescriberProfile.__table__, user_id=doctor, npi="1234567893",
                         practice_name="Clinic", certification_status="certified")
        person = add(User.__table__, email="pat@example.com", name="Pat B", role="patient",
                     is_active=True, created_at=signed_at)
        patient = add(PatientProfile.__table__, user_id=person, prescriber_id=prescriber,
                      program_patient_id="DEM00-00010", program="ipledge", given_name="Pat",
                      family_name="B", date_of_birth=date(2000, 1, 1),
                      category="cannot_get_pregnant", category_reason="", phone="",
                      created_at=signed_at)
        signature = connection.execute(text(
            "INSERT INTO signature (signer_id, signer_name, meaning, signed_at) "
            "VALUES (:signer, 'Pat B', 'I agree.', :at) RETURNING id"),
            {"signer": person, "at": signed_at}).scalar()
        course = add(Course.__table__, patient_id=patient, prescriber_id=prescriber,
                     program="ipledge", state="enrolled", enrolled_at=signed_at,
                     enrollment_signature_id=signature, home_testing_enabled=False,
                     irregular_cycles=False, registry_reference="", next_action="")
    runner.upgrade(empty_engine)
    with Session(empty_engine) as db:
        row = db.get(Signature, signature)
        assert (row.kind, row.record_type, row.record_id) == ("enrollment", "course", course)
        assert row.record_hash == signed_records.digest(db, "enrollment",
                                                        db.get(Course, course), row.signed_at)
        assert signed_records.check(db) == []
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
        connection.execute(text("UPDATE signature SET meaning = 'x'"))
