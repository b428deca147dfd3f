"""Email waiting to go out, and the worker's schedule.

A message is written in the same transaction as the change that causes it, so a change
that rolls back sends nothing and a committed one is never forgotten; the worker renders
and delivers it later (`compliance.services.outbox`). Its `context` is cleared once the
message is settled: it may hold a single-use link's token, and the row stays as the record
of what was sent.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Index
from sqlmodel import Field, SQLModel

from .enums import check_in
from .types import UTCDateTime, utcnow


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker until `claimed_until`
    SENT = "sent"
    FAILED = "failed"  # gave up: its deadline passed
    CANCELLED = "cancelled"  # no longer true (a newer link replaced it)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(check_in("status", MessageStatus), name="ck_outbox_message_status"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_user_kind", "user_id", "kind", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=64, unique=True)  # of the Message-ID, kept on retries
    once_key: str | None = Field(default=None, max_length=200, unique=True)
    kind: str = Field(max_length=40)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    to_address: str = Field(max_length=254)
    context: dict = Field(default_factory=dict, sa_type=JSON)  # what its templates show
    subject: str | None = Field(default=None, max_length=200)  # as sent
    status: str = Field(default="pending", max_length=12)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=300)


class ScheduledJob(SQLModel, table=True):
    """When each periodic job last started; a worker claims a due job by moving this time
    forward, so among many workers on many hosts one runs it."""

    __tablename__ = "scheduled_job"

    name: str = Field(primary_key=True, max_length=40)
    last_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
