"""Single-use invitations through which a patient sets a password."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import UTCDateTime, utcnow


class Invitation(SQLModel, table=True):
    """Only the token's hash is stored: a database leak cannot activate anyone."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
