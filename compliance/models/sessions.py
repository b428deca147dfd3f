"""Server-side login sessions and login attempts.

The signed cookie carries only a random session token; the row decides whether it is
still good, so logout, idle and absolute timeouts and deactivation end a session on the
server and a replayed cookie is refused.
"""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class UserSession(SQLModel, table=True):
    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_reason: str | None = Field(default=None, max_length=40)
    address: str = Field(default="", max_length=64)
    # How the second step was proved ("totp", "recovery"), "" where none was asked.
    second_factor: str = Field(default="", max_length=20)


class LoginAttempt(SQLModel, table=True):
    """One try at the login form, counted by the throttle per account and per address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_at", "email", "attempted_at"),
        Index("ix_login_attempt_address_at", "address", "attempted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    address: str = Field(max_length=64)
    succeeded: bool
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LookupMiss(SQLModel, table=True):
    """A patient ID and date of birth that matched nobody, counted per asker (a pharmacist,
    or a pharmacy's system) and per patient ID by `services.lookups`."""

    __tablename__ = "lookup_miss"
    __table_args__ = (
        Index("ix_lookup_miss_asker_at", "asker", "missed_at"),
        Index("ix_lookup_miss_patient_at", "program_patient_id", "missed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    asker: str = Field(max_length=40)
    program_patient_id: str = Field(max_length=20)
    missed_at: datetime = Field(sa_type=UTCDateTime)
