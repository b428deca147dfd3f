"""The append-only audit log and its seals.

Each event is written in the same transaction as the change it records. A seal chains one
event to the one sealed before it with a keyed hash (`services.audit_chain`), so a changed,
removed or reordered event is found by `flask audit verify`. Updates and deletes of either
are refused by the ORM here and by database triggers (see the migrations), so not even a
bug can rewrite history.
"""

from datetime import datetime

from sqlalchemy import JSON, Index, column, event
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow

_SIGNED_IN = column("actor_user_id").isnot(None)


class AuditEvent(SQLModel, table=True):
    """One event. Every request writes a few, so each index is paid on every write; the log
    is read by object (a record's history), by person and by time. Calls with an API key
    have no person, and events come in time order, so the person's index holds only events
    that have one, and time is a BRIN index on PostgreSQL (a few pages for the whole log).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_actor_at", "actor_user_id", "occurred_at",
              postgresql_where=_SIGNED_IN, sqlite_where=_SIGNED_IN),
        Index("ix_audit_event_occurred_at", "occurred_at", postgresql_using="brin"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_role: str = Field(max_length=20)
    action: str = Field(max_length=60)
    object_type: str = Field(max_length=40)
    object_id: str = Field(default="", max_length=64)
    summary: dict = Field(default_factory=dict, sa_type=JSON)
    request_id: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=64)


class AuditSeal(SQLModel, table=True):
    """One event's link in the chain, which runs in the order of the seals' ids.

    `event_hash` is the keyed hash of `prev_hash` (the hash of the seal before) and the
    event's content. Each hash is the `prev_hash` of at most one seal, so two sealers cannot
    fork the chain. Events are chained in the order they are sealed, so one committed late
    (a long transaction) joins the chain when it is seen rather than breaking it.
    """

    __tablename__ = "audit_seal"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="audit_event.id", unique=True)
    prev_hash: str = Field(max_length=64, unique=True)
    event_hash: str = Field(max_length=64)
    sealed_at: datetime = Field(sa_type=UTCDateTime)


def _append_only_ddl(table: str) -> dict[str, list[str]]:
    return {
        "sqlite": [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only'); END",
        ],
        "postgresql": [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN RAISE EXCEPTION '{table} rows are append-only'; END $$",
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
            *_no_truncate_ddl(table),
        ],
    }


def _no_truncate_ddl(table: str) -> list[str]:
    """PostgreSQL's TRUNCATE skips row triggers (and CASCADE reaches the log from any table
    that refers to it): a statement-level trigger refuses it."""
    return [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"]


def install_no_truncate_triggers(connection, table: str) -> None:
    """For databases made before the TRUNCATE trigger existed (migration 0017)."""
    if connection.dialect.name == "postgresql":
        for statement in _no_truncate_ddl(table):
            connection.exec_driver_sql(statement)


# The audit log and the signatures: the database refuses to change or delete their rows.
APPEND_ONLY_TABLES = ("audit_event", "audit_seal", "signature")


def install_append_only_triggers(connection, table: str) -> None:
    """Make the database itself refuse UPDATE and DELETE on `table` (events, seals or
    signatures).

    Called by the migrations and whenever the table is created from the models, so tests
    and production enforce the same rule.
    """
    for statement in _append_only_ddl(table).get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


@event.listens_for(AuditEvent.__table__, "after_create")
@event.listens_for(AuditSeal.__table__, "after_create")
def _after_create(table, connection, **_kw) -> None:
    install_append_only_triggers(connection, table.name)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a recorded audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _context, _instances) -> None:
    for row in (*session.dirty, *session.deleted):
        if getattr(row, "__tablename__", None) in APPEND_ONLY_TABLES and \
                (row in session.deleted or session.is_modified(row)):
            raise AuditLogIsAppendOnly(f"{row.__tablename__} rows are never changed or "
                                       "deleted")
