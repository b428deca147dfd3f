"""Second factors: an authenticator app's TOTP secret, and the single-use recovery codes
that stand in for it when the phone is lost.

`last_step` is the 30-second step of the last code accepted: a code is good once, so one
seen over a shoulder or replayed from a proxy's log opens nothing.
"""

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class TotpFactor(SQLModel, table=True):
    """An account's authenticator; unconfirmed until its first code is entered."""

    __tablename__ = "totp_factor"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True)
    secret: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_step: int | None = None


class RecoveryCode(SQLModel, table=True):
    """One of ten codes shown once at enrollment, kept only as a SHA-256 digest."""

    __tablename__ = "recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
