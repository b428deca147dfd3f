"""Idempotency keys of the pharmacy API: a retried POST gets the first answer, not a second act.

A key is claimed with a unique insert in its own short transaction before the request is
handled, so a concurrent duplicate finds it `in_flight`; the answer is stored once the
request is done, and a request that failed releases its key so the client may retry.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .enums import check_in
from .types import UTCDateTime, utcnow


class KeyState(StrEnum):
    IN_FLIGHT = "in_flight"
    DONE = "done"


class IdempotencyKey(SQLModel, table=True):
    """One key of one pharmacy: what was asked (as a hash) and, once done, what was answered."""

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("pharmacy_id", "key", name="uq_idempotency_key_pharmacy_key"),
        CheckConstraint(check_in("state", KeyState), name="ck_idempotency_key_state"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pharmacy_id: int = Field(foreign_key="pharmacy.id")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    state: str = Field(default=KeyState.IN_FLIGHT.value, max_length=10)
    status_code: int | None = None
    content_type: str | None = Field(default=None, max_length=100)
    body: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
