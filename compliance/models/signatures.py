"""Electronic signatures: who signed, when, what the signature means, and what it signs.

The signer re-entered their password; name and meaning are copied onto the row so the
record reads the same even if the account's name changes later. `record_hash` is the
SHA-256 of the signed record's content (`services.signed_records`); the table is
append-only, so neither can be rewritten.
"""

from datetime import datetime

from sqlalchemy import event
from sqlmodel import Field, SQLModel

from .audit import install_append_only_triggers
from .types import UTCDateTime, utcnow


class Signature(SQLModel, table=True):
    __tablename__ = "signature"

    id: int | None = Field(default=None, primary_key=True)
    signer_id: int = Field(foreign_key="app_user.id", index=True)
    signer_name: str = Field(max_length=200)
    meaning: str = Field(max_length=500)
    signed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(default="", max_length=30)
    record_type: str = Field(default="", max_length=20)
    record_id: int | None = None
    record_hash: str | None = Field(default=None, max_length=64)


@event.listens_for(Signature.__table__, "after_create")
def _after_create(table, connection, **_kw) -> None:
    install_append_only_triggers(connection, table.name)
