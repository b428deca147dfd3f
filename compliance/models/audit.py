"""The append-only audit log.

Each event is written in the same transaction as the change it records. `prev_hash` and
`event_hash` are reserved for the keyed hash chain that makes the log tamper-evident.
Updates and deletes are refused by the ORM here and by database triggers (see the
migrations), so not even a bug can rewrite history.
"""

from datetime import datetime

from sqlalchemy import JSON, Index, event
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_actor_at", "actor_user_id", "occurred_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_role: str = Field(max_length=20)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(default="", max_length=64)
    summary: dict = Field(default_factory=dict, sa_type=JSON)
    request_id: str = Field(default="", max_length=64)
    address: str = Field(default="", max_length=64)
    prev_hash: str | None = Field(default=None, max_length=64)
    event_hash: str | None = Field(default=None, max_length=64)


APPEND_ONLY_DDL = {
    "sqlite": [
        "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
        "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$",
        "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    ],
}


def install_append_only_triggers(connection) -> None:
    """Make the database itself refuse UPDATE and DELETE on audit events.

    Called by the migration and whenever the table is created from the models, so tests and
    production enforce the same rule.
    """
    for statement in APPEND_ONLY_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


@event.listens_for(AuditEvent.__table__, "after_create")
def _after_create(_table, connection, **_kw) -> None:
    install_append_only_triggers(connection)


class AuditLogIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a recorded audit event."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_rewrites(session: Session, _context, _instances) -> None:
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, AuditEvent) and (row in session.deleted or session.is_modified(row)):
            raise AuditLogIsAppendOnly("audit events are never changed or deleted")
