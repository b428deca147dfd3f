"""Second factors: an authenticator app's TOTP secret, the single-use recovery codes that
stand in for it when the phone is lost, and passkeys.

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


class Passkey(SQLModel, table=True):
    """A WebAuthn credential (a passkey): proof of the device and of its user's PIN or
    fingerprint at once, so it signs in without a password or a code. `sign_count` catches
    a cloned authenticator (a count that does not grow)."""

    __tablename__ = "passkey"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    credential_id: str = Field(max_length=1400, unique=True)  # base64url
    public_key: str = Field(max_length=2000)  # COSE, base64url
    sign_count: int = 0
    name: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
